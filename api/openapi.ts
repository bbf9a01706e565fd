// The OpenAPI 3.1 description of the whole HTTP API (/work/shared/CONTRACT.md), served at
// GET /openapi.json. Response schemas are JSON Schema 2020-12; test/operations/openapi.test.ts
// validates real responses against them, so this document cannot drift from the code unnoticed.
// Where the contract fixes a shape, the schema is closed (additionalProperties: false).

type Schema = Record<string, unknown>;

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Schema, description: string) => ({ description, content: { 'application/json': { schema } } });
const error = (description: string, name = 'Error') => json(ref(name), description);
const nullable = (type: string, extra: Schema = {}): Schema => ({ type: [type, 'null'], ...extra });

const money: Schema = { type: 'integer', description: 'Minor units of the currency (pence for gbp). Never a float.' };
const currency: Schema = { type: 'string', pattern: '^[a-z]{3}$', example: 'gbp' };
const uuid: Schema = { type: 'string', format: 'uuid' };
const timestamp: Schema = { type: 'string', format: 'date-time' };

const topUpStatus: Schema = { enum: ['pending', 'paid', 'failed', 'expired'] };

const schemas: Record<string, Schema> = {
  TopUpRequest: {
    type: 'object',
    required: ['amount'],
    properties: { amount: { ...money, description: 'TOPUP_MIN_AMOUNT..TOPUP_MAX_AMOUNT, in the wallet currency.' }, returnUrl: { type: 'string', format: 'uri' } },
    additionalProperties: false,
  },
  TopUpCreated: {
    type: 'object',
    required: ['topUpId', 'status', 'amount', 'currency', 'checkoutUrl', 'checkoutSessionId'],
    properties: { topUpId: uuid, status: topUpStatus, amount: money, currency, checkoutUrl: { type: 'string', minLength: 1 }, checkoutSessionId: { type: 'string', minLength: 1 } },
    additionalProperties: false,
  },
  TopUp: {
    type: 'object',
    required: ['topUpId', 'status', 'amount', 'currency', 'credited', 'refunded', 'createdAt', 'updatedAt'],
    properties: { topUpId: uuid, status: topUpStatus, amount: money, currency, credited: money, refunded: money, createdAt: timestamp, updatedAt: timestamp },
    additionalProperties: false,
  },
  AutoRecharge: {
    type: 'object',
    required: ['enabled', 'threshold', 'amount', 'currency', 'paymentMethod'],
    properties: {
      enabled: { type: 'boolean' },
      threshold: money,
      amount: money,
      currency,
      paymentMethod: { oneOf: [{ type: 'null' }, { type: 'object', required: ['brand', 'last4'], properties: { brand: nullable('string'), last4: nullable('string') } }] },
    },
    additionalProperties: false,
  },
  AutoRechargeRequest: {
    type: 'object',
    required: ['enabled', 'threshold', 'amount'],
    properties: { enabled: { type: 'boolean' }, threshold: money, amount: money },
    additionalProperties: false,
  },
  Alerts: {
    type: 'object',
    required: ['thresholds', 'webhookUrl', 'currency'],
    properties: {
      thresholds: { type: 'array', maxItems: 5, items: money },
      webhookUrl: nullable('string'),
      currency,
      signingSecret: { type: 'string', description: 'Only in the first answer: the HMAC key of Billing-Gates-Signature.' },
    },
    additionalProperties: false,
  },
  AlertsRequest: {
    type: 'object',
    required: ['thresholds'],
    properties: {
      thresholds: { type: 'array', maxItems: 5, items: { ...money, minimum: 0 } },
      webhookUrl: nullable('string', {
        format: 'uri',
        maxLength: 2000,
        description:
          'https (or loopback http in sandbox mode). A host that is an IP literal in a private, loopback (outside sandbox mode), link-local, unique-local or unspecified range is refused with 400; a host name is saved, and its addresses are checked the same way at every delivery.',
      }),
    },
    additionalProperties: false,
  },
  WalletEvents: {
    type: 'object',
    required: ['items', 'nextCursor'],
    properties: {
      items: {
        type: 'array',
        items: {
          type: 'object',
          required: ['id', 'type', 'data', 'createdAt'],
          properties: {
            id: { type: 'string' },
            type: {
              enum: ['balance.low', 'balance.recovered', 'auto_recharge.failed', 'auto_recharge.disabled', 'wallet.frozen', 'wallet.unfrozen', 'number.past_due', 'number.reactivated', 'number.released'],
            },
            data: { type: 'object', required: ['orgId', 'available', 'currency'] },
            createdAt: timestamp,
          },
          additionalProperties: false,
        },
      },
      nextCursor: nullable('string'),
    },
    additionalProperties: false,
  },
  Error: {
    type: 'object',
    required: ['error', 'message'],
    properties: { error: { type: 'string', pattern: '^[a-z][a-z0-9_]*$' }, message: { type: 'string', minLength: 1 } },
    additionalProperties: true,
  },
  InsufficientFunds: {
    type: 'object',
    required: ['error', 'message', 'currency', 'balance', 'required', 'shortfall'],
    properties: {
      error: { const: 'insufficient_funds' },
      message: { type: 'string', minLength: 1 },
      currency,
      balance: money,
      required: { ...money, minimum: 1 },
      shortfall: { ...money, minimum: 1 },
    },
    additionalProperties: false,
  },
  CurrencyNotPriced: {
    type: 'object',
    required: ['error', 'message', 'currency', 'pricedCurrencies'],
    properties: {
      error: { const: 'currency_not_priced' },
      message: { type: 'string', minLength: 1 },
      currency,
      pricedCurrencies: { type: 'array', items: currency, minItems: 1 },
    },
    additionalProperties: false,
  },
  ProvisionRequest: {
    type: 'object',
    required: ['areaCode'],
    properties: {
      areaCode: { type: 'string', pattern: '^[0-9]{3}$' },
      country: { type: 'string', default: 'US' },
      assistantId: { type: 'string', minLength: 1, maxLength: 200 },
    },
    additionalProperties: false,
  },
  ProvisionAccepted: {
    type: 'object',
    required: ['requestId', 'status', 'statusUrl', 'charged', 'currency', 'balance'],
    properties: {
      requestId: { type: 'string', minLength: 1 },
      status: { const: 'queued' },
      statusUrl: { type: 'string', minLength: 1 },
      charged: { ...money, minimum: 1 },
      currency,
      balance: { ...money, description: 'The balance after the debit.' },
    },
    additionalProperties: false,
  },
  ProvisioningStatus: {
    type: 'object',
    required: ['requestId', 'status', 'attempts', 'maxAttempts', 'areaCode', 'phoneNumber', 'error', 'charged', 'refunded', 'currency', 'createdAt', 'updatedAt'],
    properties: {
      requestId: { type: 'string', minLength: 1 },
      status: {
        enum: ['queued', 'provisioning', 'retrying', 'completed', 'failed', 'refunded'],
        description: '`completed` and `refunded` are final; `failed` means final failure, refund under way.',
      },
      attempts: { type: 'integer', minimum: 0 },
      maxAttempts: { type: 'integer', minimum: 1 },
      areaCode: { type: 'string', pattern: '^[0-9]{3}$' },
      phoneNumber: nullable('string', { pattern: '^\\+[1-9][0-9]{6,14}$' }),
      error: nullable('string'),
      charged: money,
      refunded: { ...money, minimum: 0 },
      currency,
      createdAt: timestamp,
      updatedAt: timestamp,
    },
    additionalProperties: false,
  },
  Wallet: {
    type: 'object',
    required: ['orgId', 'currency', 'balance', 'available', 'frozen', 'frozenReason', 'updatedAt'],
    properties: {
      orgId: uuid,
      currency,
      balance: money,
      available: { ...money, description: 'balance minus holds of calls in progress' },
      frozen: { type: 'boolean', description: 'A frozen wallet admits no call, buys no number and runs no auto-recharge (CONTRACT §8).' },
      frozenReason: nullable('string'),
      updatedAt: timestamp,
    },
    additionalProperties: false,
  },
  SpendLimitsRequest: {
    type: 'object',
    description: 'Replaces all four limits; a key left out is null (no limit).',
    properties: {
      maxConcurrentCalls: nullable('integer', { minimum: 0, maximum: 10000, description: 'Calls in progress (admitted, neither ended nor reported) beyond which an assistant-request is refused.' }),
      dailySpendLimit: nullable('integer', { minimum: 0, maximum: 100000000, description: 'Minor units: call charges + holds of calls in progress + purchases − refunds since 00:00 UTC never pass it.' }),
      maxCallSeconds: nullable('integer', { minimum: 10, maximum: 43200, description: 'Caps maxDurationSeconds.' }),
      maxNumbersPerDay: nullable('integer', { minimum: 0, maximum: 1000, description: 'Phone numbers bought since 00:00 UTC.' }),
    },
    additionalProperties: false,
  },
  SpendLimits: {
    type: 'object',
    required: ['orgId', 'maxConcurrentCalls', 'dailySpendLimit', 'maxCallSeconds', 'maxNumbersPerDay', 'currency'],
    properties: {
      orgId: uuid,
      maxConcurrentCalls: nullable('integer', { minimum: 0 }),
      dailySpendLimit: nullable('integer', { minimum: 0 }),
      maxCallSeconds: nullable('integer', { minimum: 10 }),
      maxNumbersPerDay: nullable('integer', { minimum: 0 }),
      currency,
    },
    additionalProperties: false,
  },
  FreezeRequest: {
    type: 'object',
    required: ['reason'],
    properties: { reason: { type: 'string', minLength: 1, maxLength: 500 } },
    additionalProperties: false,
  },
  FreezeState: {
    type: 'object',
    required: ['orgId', 'frozen', 'frozenReason'],
    properties: {
      orgId: uuid,
      frozen: { type: 'boolean' },
      frozenReason: nullable('string'),
      callsEnding: { type: 'integer', minimum: 0, description: 'Calls in progress being ended through their control URLs (freeze only).' },
    },
    additionalProperties: false,
  },
  LimitReached: {
    type: 'object',
    required: ['error', 'message', 'limit'],
    properties: {
      error: { const: 'limit_reached' },
      message: { type: 'string', minLength: 1 },
      limit: { enum: ['dailySpendLimit', 'maxNumbersPerDay'] },
    },
    additionalProperties: false,
  },
  // Outbound calls, rates by destination, dialing permissions (CONTRACT §10).
  PlaceCallRequest: {
    type: 'object',
    required: ['assistantId', 'phoneNumberId', 'customer'],
    properties: {
      assistantId: { type: 'string', minLength: 1, maxLength: 200 },
      phoneNumberId: { type: 'string', minLength: 1, maxLength: 200, description: "A number the organisation owns: this service's id or Vapi's." },
      customer: { type: 'object', required: ['number'], properties: { number: { type: 'string', description: 'E.164; checked with libphonenumber-js (422 if not a valid number).' } }, additionalProperties: false },
      metadata: { type: 'object', description: 'Passed to Vapi in assistantOverrides.metadata (at most 4096 bytes of JSON); `orgId` and `billingCallId` are ours.' },
    },
    additionalProperties: false,
  },
  CallPlaced: {
    type: 'object',
    required: ['callId', 'vapiCallId', 'maxDurationSeconds', 'rate', 'currency'],
    properties: {
      callId: uuid,
      vapiCallId: { type: 'string', minLength: 1 },
      maxDurationSeconds: { type: 'integer', minimum: 10, maximum: 43200 },
      rate: {
        type: 'object',
        required: ['prefix', 'ratePerMinute', 'connectFee'],
        properties: { prefix: nullable('string'), ratePerMinute: { ...money, minimum: 1 }, connectFee: { ...money, minimum: 0 } },
        additionalProperties: false,
      },
      currency,
    },
    additionalProperties: false,
  },
  CallPlacing: {
    type: 'object',
    required: ['callId', 'status', 'message'],
    properties: { callId: uuid, status: { const: 'placing' }, message: { type: 'string', minLength: 1 } },
    additionalProperties: false,
  },
  CallInsufficientFunds: {
    type: 'object',
    required: ['error', 'message', 'currency', 'balance', 'available', 'required', 'shortfall'],
    properties: {
      error: { const: 'insufficient_funds' },
      message: { type: 'string', minLength: 1 },
      currency,
      balance: money,
      available: money,
      required: { ...money, minimum: 1 },
      shortfall: { ...money, minimum: 1 },
    },
    additionalProperties: false,
  },
  DestinationNotAllowed: {
    type: 'object',
    required: ['error', 'message', 'destination', 'reason'],
    properties: { error: { const: 'destination_not_allowed' }, message: { type: 'string', minLength: 1 }, destination: { type: 'string' }, reason: { enum: ['blocked', 'country'] } },
    additionalProperties: false,
  },
  CallLimitReached: {
    type: 'object',
    required: ['error', 'message', 'limit'],
    properties: { error: { const: 'limit_reached' }, message: { type: 'string', minLength: 1 }, limit: { enum: ['dailySpendLimit', 'maxConcurrentCalls'] } },
    additionalProperties: false,
  },
  Rate: {
    type: 'object',
    required: ['prefix', 'ratePerMinute'],
    properties: {
      prefix: { type: 'string', pattern: '^\\+[0-9]{1,15}$' },
      ratePerMinute: { ...money, minimum: 1, maximum: 1000000 },
      connectFee: { ...money, minimum: 0, maximum: 1000000, default: 0 },
      minimumSeconds: { type: 'integer', minimum: 0, maximum: 3600, default: 0 },
      incrementSeconds: { type: 'integer', minimum: 1, maximum: 3600, default: 1 },
      blocked: { type: 'boolean', default: false },
    },
    additionalProperties: false,
  },
  RatesRequest: { type: 'object', required: ['rates'], properties: { rates: { type: 'array', maxItems: 10000, items: ref('Rate') } }, additionalProperties: false },
  Rates: {
    type: 'object',
    required: ['rates', 'currency'],
    properties: { rates: { type: 'array', items: { allOf: [ref('Rate')], required: ['prefix', 'ratePerMinute', 'connectFee', 'minimumSeconds', 'incrementSeconds', 'blocked'] } }, currency },
    additionalProperties: false,
  },
  MatchedRate: {
    type: 'object',
    required: ['number', 'prefix', 'ratePerMinute', 'connectFee', 'minimumSeconds', 'incrementSeconds', 'blocked', 'currency'],
    properties: {
      number: { type: 'string' },
      prefix: { ...nullable('string'), description: 'null: no row matched; CALL_RATE_PER_MINUTE, no connect fee, increments of 1 s.' },
      ratePerMinute: { ...money, minimum: 1 },
      connectFee: money,
      minimumSeconds: { type: 'integer', minimum: 0 },
      incrementSeconds: { type: 'integer', minimum: 1 },
      blocked: { type: 'boolean' },
      currency,
    },
    additionalProperties: false,
  },
  DialingRequest: {
    type: 'object',
    properties: {
      allowedCountries: { type: ['array', 'null'], items: { type: 'string', pattern: '^[A-Z]{2}$' }, maxItems: 300 },
      callsPerSecond: { type: ['integer', 'null'], minimum: 0, maximum: 1000 },
    },
    additionalProperties: false,
  },
  Dialing: {
    type: 'object',
    required: ['orgId', 'allowedCountries', 'callsPerSecond'],
    properties: { orgId: uuid, allowedCountries: { type: ['array', 'null'], items: { type: 'string', pattern: '^[A-Z]{2}$' } }, callsPerSecond: { type: ['integer', 'null'], minimum: 0 } },
    additionalProperties: false,
  },
  LedgerEntry: {
    type: 'object',
    required: ['id', 'kind', 'amount', 'balanceBefore', 'balanceAfter', 'reference', 'createdAt'],
    properties: {
      id: { type: 'integer', minimum: 1 },
      kind: { enum: ['topup', 'phone_number', 'phone_number_refund', 'phone_number_rent', 'call', 'topup_refund', 'dispute', 'dispute_reversal'] },
      amount: { ...money, description: 'Signed: debits are negative.' },
      balanceBefore: money,
      balanceAfter: money,
      reference: nullable('string'),
      createdAt: timestamp,
    },
    additionalProperties: false,
  },
  // Usage at a glance (CONTRACT §12).
  UsageDays: {
    type: 'object',
    required: ['currency', 'days'],
    properties: {
      currency,
      days: {
        type: 'array',
        minItems: 1,
        maxItems: 366,
        description: 'Every UTC day from `from` to `to`, oldest first, zeros included. Each amount is the sum of that day\'s ledger entries of the bucket\'s kinds, signed as in the ledger (debits negative), by the entry\'s created_at in UTC.',
        items: {
          type: 'object',
          required: ['date', 'calls', 'numbers', 'topUps', 'refunds'],
          properties: {
            date: { type: 'string', format: 'date' },
            calls: {
              type: 'object',
              required: ['count', 'seconds', 'amount'],
              properties: { count: { type: 'integer', minimum: 0 }, seconds: { type: 'integer', minimum: 0, description: 'Billed seconds, each call rounded up to a whole second.' }, amount: { ...money, maximum: 0 } },
              additionalProperties: false,
            },
            numbers: { type: 'object', required: ['amount'], properties: { amount: { ...money, description: 'Phone number purchases and monthly rent.' } }, additionalProperties: false },
            topUps: { type: 'object', required: ['amount'], properties: { amount: { ...money, description: 'Top-ups and operator credits, less Stripe refunds and disputes of them.' } }, additionalProperties: false },
            refunds: { type: 'object', required: ['amount'], properties: { amount: { ...money, description: 'Purchases refunded to the wallet.' } }, additionalProperties: false },
          },
          additionalProperties: false,
        },
      },
    },
    additionalProperties: false,
  },
  Calls: {
    type: 'object',
    required: ['items', 'nextCursor'],
    properties: {
      items: {
        type: 'array',
        items: {
          type: 'object',
          required: ['callId', 'direction', 'from', 'to', 'startedAt', 'endedAt', 'seconds', 'amount', 'ratePerMinute', 'status'],
          properties: {
            callId: { type: 'string', minLength: 1 },
            direction: { enum: ['inbound', 'outbound'] },
            from: nullable('string', { description: 'The caller (for an outbound call, our number), as the end-of-call report gives it; null until the report came.' }),
            to: nullable('string', { description: 'The number called (for an outbound call, its destination, known from admission).' }),
            startedAt: timestamp,
            endedAt: nullable('string', { format: 'date-time' }),
            seconds: nullable('integer', { minimum: 0, description: 'Billed seconds rounded up to a whole second; null until billed.' }),
            amount: nullable('integer', { maximum: 0, description: 'The charge as in the ledger (negative; 0 for a call of no seconds); null until billed.' }),
            ratePerMinute: { ...money, minimum: 1, description: "Minor units per minute: the rate its charge used, else the rate fixed at the call's admission (by its destination or its number)." },
            status: { enum: ['in_progress', 'ended', 'billed', 'not_billed'], description: '`ended`: its charge is still to come; `not_billed`: Vapi had no record of the call, nothing was charged.' },
          },
          additionalProperties: false,
        },
      },
      nextCursor: nullable('string'),
    },
    additionalProperties: false,
  },
  Receipt: {
    type: 'object',
    required: ['receiptNumber', 'topUpId', 'amount', 'currency', 'paidAt', 'card'],
    properties: {
      receiptNumber: { type: 'string', pattern: '^R-[0-9]{6,}$', description: 'From one gap-free series for the whole service: R-000001, R-000002, …' },
      topUpId: uuid,
      amount: { ...money, minimum: 1 },
      currency,
      paidAt: timestamp,
      card: { oneOf: [{ type: 'null' }, { type: 'object', required: ['brand', 'last4'], properties: { brand: nullable('string'), last4: nullable('string', { pattern: '^[0-9]{4}$' }) }, additionalProperties: false }] },
    },
    additionalProperties: false,
  },
  TopUps: {
    type: 'object',
    required: ['items', 'nextCursor'],
    properties: {
      items: {
        type: 'array',
        items: {
          type: 'object',
          required: ['topUpId', 'status', 'amount', 'currency', 'credited', 'refunded', 'createdAt', 'updatedAt', 'receiptNumber'],
          properties: { topUpId: uuid, status: topUpStatus, amount: money, currency, credited: money, refunded: money, createdAt: timestamp, updatedAt: timestamp, receiptNumber: nullable('string', { pattern: '^R-[0-9]{6,}$' }) },
          additionalProperties: false,
        },
      },
      nextCursor: nullable('string'),
    },
    additionalProperties: false,
  },
  Transactions: {
    type: 'object',
    required: ['items', 'nextCursor'],
    properties: { items: { type: 'array', items: ref('LedgerEntry') }, nextCursor: nullable('string') },
    additionalProperties: false,
  },
  RentedNumber: {
    type: 'object',
    required: ['id', 'phoneNumber', 'status', 'monthlyPrice', 'currency', 'paidUntil', 'nextChargeAt', 'releaseAt'],
    properties: {
      id: uuid,
      phoneNumber: { type: 'string', pattern: '^\\+[1-9][0-9]{6,14}$' },
      status: {
        enum: ['active', 'past_due', 'released'],
        description: '`past_due`: a month began and the wallet could not pay it; calls are refused; released at `releaseAt` unless paid. `released`: given up (also while the release at Vapi and Twilio is finishing).',
      },
      monthlyPrice: { ...money, type: ['integer', 'null'], description: 'The rent per month in `currency` (PHONE_NUMBER_MONTHLY_PRICE[S]); null only if the currency has none.' },
      currency,
      paidUntil: { ...timestamp, description: 'End of the last month paid (the purchase pays the first).' },
      nextChargeAt: nullable('string', { format: 'date-time', description: 'When the next month is charged (for a past-due number: since when it is overdue); null once released.' }),
      releaseAt: nullable('string', { format: 'date-time', description: 'A past-due number is released then unless paid; null otherwise.' }),
    },
    additionalProperties: false,
  },
  RentedNumbers: {
    type: 'object',
    required: ['items'],
    properties: { items: { type: 'array', maxItems: 500, items: ref('RentedNumber') } },
    additionalProperties: false,
  },
  Clock: {
    type: 'object',
    required: ['now', 'offsetSeconds'],
    properties: { now: timestamp, offsetSeconds: { type: 'integer', minimum: 0, maximum: 315576000 } },
    additionalProperties: false,
  },
  ClockAdvanceRequest: {
    type: 'object',
    required: ['advanceSeconds'],
    properties: { advanceSeconds: { type: 'integer', minimum: 1, maximum: 31622400 } },
    additionalProperties: false,
  },
  CreateOrgRequest: {
    type: 'object',
    required: ['name'],
    properties: { name: { type: 'string', minLength: 1, maxLength: 200 }, orgId: uuid, currency },
    additionalProperties: false,
  },
  OrgCreated: { type: 'object', required: ['orgId'], properties: { orgId: uuid }, additionalProperties: false },
  CreditRequest: {
    type: 'object',
    required: ['amount', 'reason'],
    properties: { amount: { type: 'integer', minimum: 1, maximum: 100000000 }, reason: { type: 'string', minLength: 1, maxLength: 500 } },
    additionalProperties: false,
  },
  Credited: {
    type: 'object',
    required: ['entryId', 'balance', 'currency'],
    properties: { entryId: { type: 'integer', minimum: 1 }, balance: money, currency },
    additionalProperties: false,
  },
  RegisterPhoneNumberRequest: {
    type: 'object',
    required: ['orgId', 'phoneNumber', 'vapiPhoneNumberId', 'assistantId'],
    properties: {
      orgId: uuid,
      phoneNumber: { type: 'string', pattern: '^\\+[1-9][0-9]{6,14}$' },
      vapiPhoneNumberId: { type: 'string', minLength: 1, maxLength: 200 },
      assistantId: { type: 'string', minLength: 1, maxLength: 200 },
    },
    additionalProperties: false,
  },
  PhoneNumberRegistered: {
    type: 'object',
    required: ['id', 'orgId', 'phoneNumber', 'vapiPhoneNumberId', 'assistantId'],
    properties: {
      id: { type: 'string', minLength: 1 },
      orgId: uuid,
      phoneNumber: { type: 'string' },
      vapiPhoneNumberId: { type: 'string' },
      assistantId: { type: 'string' },
    },
    additionalProperties: false,
  },
  VapiMessage: {
    type: 'object',
    required: ['message'],
    properties: {
      message: {
        type: 'object',
        required: ['type'],
        properties: {
          type: { type: 'string', examples: ['assistant-request', 'status-update', 'end-of-call-report'] },
          call: { type: 'object', properties: { id: { type: 'string' }, phoneNumberId: { type: 'string' } } },
          phoneNumber: { type: 'object', properties: { id: { type: 'string' }, number: { type: 'string' } } },
          status: { type: 'string' },
          startedAt: { type: 'string' },
          endedAt: { type: 'string' },
          durationSeconds: { type: 'number' },
        },
      },
    },
  },
  CallAllowed: {
    type: 'object',
    required: ['assistantId', 'assistantOverrides'],
    properties: {
      assistantId: { type: 'string', minLength: 1 },
      assistantOverrides: {
        type: 'object',
        required: ['maxDurationSeconds', 'metadata'],
        properties: {
          maxDurationSeconds: { type: 'integer', minimum: 10, maximum: 43200 },
          metadata: { type: 'object', required: ['orgId'], properties: { orgId: { type: 'string' } } },
        },
      },
    },
  },
  CallRefused: {
    type: 'object',
    required: ['error'],
    properties: { error: { type: 'string', minLength: 1, description: 'A sentence Vapi speaks to the caller.' } },
    not: { required: ['assistantId'] },
  },
  Received: {
    type: 'object',
    required: ['received'],
    properties: { received: { const: true } },
    additionalProperties: false,
    description: 'Acknowledgement of status-update, end-of-call-report and any other message type.',
  },
  Health: { type: 'object', required: ['status'], properties: { status: { const: 'ok' } } },
  Ready: {
    type: 'object',
    required: ['status', 'checks'],
    properties: { status: { const: 'ready' }, checks: ref('ReadyChecks') },
  },
  NotReady: {
    type: 'object',
    required: ['error', 'message', 'checks'],
    properties: { error: { const: 'service_unavailable' }, message: { type: 'string' }, checks: ref('ReadyChecks') },
  },
  ReadyChecks: {
    type: 'object',
    required: ['postgres', 'redis'],
    properties: { postgres: { enum: ['ok', 'down'] }, redis: { enum: ['ok', 'down'] } },
  },
};

const idempotencyKey = {
  name: 'Idempotency-Key',
  in: 'header',
  required: true,
  description: 'Chosen by the client, 1-255 visible ASCII characters. A replay returns the first response; the same key with another body is a 409.',
  schema: { type: 'string', pattern: '^[\\x21-\\x7e]{1,255}$' },
};
const unauthorized = error('Missing or invalid credentials: `{"error":"unauthorized"}`.');
const badRequest = error('Invalid input or a missing Idempotency-Key; nothing changed.');
const notFound = error('Unknown, malformed, or another organisation\'s id: `{"error":"not_found"}`.');
const unavailable = error('The database is not available; nothing changed. Retry (with the same Idempotency-Key where there is one).');
const dashboard = [{ dashboardJwt: [] }];
/** A dashboard list's paging: `limit` (1..max, default def) and the opaque `cursor` of the previous page. */
const pageQuery = (max: number, def: number) => [
  { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: max, default: def } },
  { name: 'cursor', in: 'query', schema: { type: 'string' } },
];
const noOrganisation = error('No organisation in the token.');
const operator = [{ operatorToken: [] }];

export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'billing-gates',
    version: '0.1.0',
    description:
      'Prepaid-wallet gates for a voice-AI telephony platform. Money is an integer count of the currency\'s minor unit; every money-bearing body carries `currency`. Errors are `{"error":"<snake_case>","message":"..."}`; a 5xx is a bug.',
  },
  servers: [{ url: '/' }],
  components: {
    securitySchemes: {
      dashboardJwt: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'Supabase JWT (HS256 with SUPABASE_JWT_SECRET, or JWKS); the organisation is `app_metadata.org_id`.' },
      operatorToken: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN.' },
      operatorBasic: { type: 'http', scheme: 'basic', description: 'User `admin`, password ADMIN_TOKEN (Bull Board in a browser).' },
      vapiSecret: { type: 'apiKey', in: 'header', name: 'x-vapi-secret', description: 'VAPI_WEBHOOK_SECRET (or `Authorization: Bearer <secret>`; optionally an HMAC `x-signature` over `{x-timestamp}.{raw body}`).' },
    },
    schemas,
  },
  paths: {
    '/api/managed-telephony/provision': {
      post: {
        operationId: 'provisionPhoneNumber',
        summary: 'Debit the price of a phone number and queue its purchase (the provisioning gate).',
        security: dashboard,
        parameters: [idempotencyKey],
        requestBody: { required: true, content: { 'application/json': { schema: ref('ProvisionRequest') } } },
        responses: {
          '202': json(ref('ProvisionAccepted'), 'Accepted: debited and queued (also the replay of an accepted request).'),
          '400': badRequest,
          '401': unauthorized,
          '402': error('Balance below the price: nothing debited, nothing queued.', 'InsufficientFunds'),
          '403': json(
            { anyOf: [ref('Error'), ref('LimitReached')] },
            'A valid token without an organisation (`forbidden`); a frozen wallet (`wallet_frozen`); or a spend limit (`limit_reached` with `limit`). Nothing debited.',
          ),
          '404': notFound,
          '409': error('The Idempotency-Key was used with a different body: `idempotency_key_reused`.'),
          '413': error('Body too large.'),
          '422': error("The wallet's currency has no phone-number price (`currency_not_priced`): nothing debited, nothing queued.", 'CurrencyNotPriced'),
          '503': error('The database is not available: nothing was debited; retry with the same Idempotency-Key.'),
        },
      },
    },
    '/api/managed-telephony/provisioning/{requestId}': {
      get: {
        operationId: 'getProvisioningRequest',
        summary: 'Status of one provisioning request of the caller\'s organisation.',
        security: dashboard,
        parameters: [{ name: 'requestId', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { '200': json(ref('ProvisioningStatus'), 'The request.'), '401': unauthorized, '403': noOrganisation, '404': notFound, '503': unavailable },
      },
    },
    '/api/wallet': {
      get: {
        operationId: 'getWallet',
        security: dashboard,
        responses: { '200': json(ref('Wallet'), 'The caller\'s wallet.'), '401': unauthorized, '403': noOrganisation, '404': notFound, '503': unavailable },
      },
    },
    '/api/wallet/transactions': {
      get: {
        operationId: 'listTransactions',
        summary: 'Ledger entries, newest first; balance == sum(amount) at every moment.',
        security: dashboard,
        parameters: pageQuery(200, 50),
        responses: { '200': json(ref('Transactions'), 'One page.'), '400': badRequest, '401': unauthorized, '403': noOrganisation, '503': unavailable },
      },
    },
    '/api/wallet/top-ups': {
      get: {
        operationId: 'listTopUps',
        summary: "The organisation's top-ups, newest first, each paid one with its receipt number.",
        security: dashboard,
        parameters: pageQuery(100, 20),
        responses: { '200': json(ref('TopUps'), 'One page.'), '400': badRequest, '401': unauthorized, '403': noOrganisation, '503': unavailable },
      },
      post: {
        operationId: 'createTopUp',
        summary: 'Start a top-up: a Stripe Checkout Session. Nothing is credited until Stripe says the money was paid.',
        security: dashboard,
        parameters: [idempotencyKey],
        requestBody: { required: true, content: { 'application/json': { schema: ref('TopUpRequest') } } },
        responses: {
          '201': json(ref('TopUpCreated'), 'Created (also the replay of the same key and body).'),
          '400': badRequest,
          '401': unauthorized,
          '403': noOrganisation,
          '404': notFound,
          '409': error('The Idempotency-Key was used with a different body.'),
          '502': error('Stripe could not be reached: nothing charged; retry with the same key.'),
          '503': unavailable,
        },
      },
    },
    '/api/wallet/top-ups/{topUpId}/receipt': {
      get: {
        operationId: 'getTopUpReceipt',
        summary: 'The receipt of a paid top-up: its number (one gap-free series), amount, currency, paid time and card.',
        security: dashboard,
        parameters: [{ name: 'topUpId', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { '200': json(ref('Receipt'), 'The receipt.'), '401': unauthorized, '403': noOrganisation, '404': error('Not paid yet, another organisation\'s, unknown or malformed: `{"error":"not_found"}`.'), '503': unavailable },
      },
    },
    '/api/wallet/usage': {
      get: {
        operationId: 'getUsage',
        summary: 'Usage per UTC day: calls (count, billed seconds, charges), numbers, top-ups and refunds, each the sum of that day\'s ledger entries.',
        security: dashboard,
        parameters: [
          { name: 'from', in: 'query', required: true, schema: { type: 'string', format: 'date' } },
          { name: 'to', in: 'query', required: true, schema: { type: 'string', format: 'date' }, description: 'Inclusive; at most 366 days from `from`.' },
        ],
        responses: { '200': json(ref('UsageDays'), 'Every day of the range.'), '400': badRequest, '401': unauthorized, '403': noOrganisation, '404': notFound, '503': unavailable },
      },
    },
    '/api/wallet/statement': {
      get: {
        operationId: 'getStatement',
        summary: 'One calendar month (UTC) of the ledger as CSV: header, opening balance, one row per entry, closing balance; closing − opening = the sum of the rows.',
        security: dashboard,
        parameters: [{ name: 'month', in: 'query', required: true, schema: { type: 'string', pattern: '^[0-9]{4}-(0[1-9]|1[0-2])$' } }],
        responses: {
          '200': {
            description:
              'Content-Disposition: attachment. Columns date, kind, reference, description, amount, balance_after; money as decimals of the currency (1234 gbp → 12.34); text cells starting with = + - @ get a leading apostrophe.',
            content: { 'text/csv': { schema: { type: 'string' } } },
          },
          '400': badRequest,
          '401': unauthorized,
          '403': noOrganisation,
          '404': notFound,
          '503': unavailable,
        },
      },
    },
    '/api/wallet/top-ups/{topUpId}': {
      get: {
        operationId: 'getTopUp',
        security: dashboard,
        parameters: [{ name: 'topUpId', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { '200': json(ref('TopUp'), 'The top-up.'), '401': unauthorized, '403': noOrganisation, '404': notFound, '503': unavailable },
      },
    },
    '/api/wallet/auto-recharge': {
      get: {
        operationId: 'getAutoRecharge',
        security: dashboard,
        responses: { '200': json(ref('AutoRecharge'), 'The settings.'), '401': unauthorized, '403': noOrganisation, '404': notFound, '503': unavailable },
      },
      put: {
        operationId: 'putAutoRecharge',
        security: dashboard,
        requestBody: { required: true, content: { 'application/json': { schema: ref('AutoRechargeRequest') } } },
        responses: {
          '200': json(ref('AutoRecharge'), 'The settings.'),
          '400': badRequest,
          '401': unauthorized,
          '403': noOrganisation,
          '404': notFound,
          '409': error('`no_payment_method`: pay one top-up by card first.'),
          '503': unavailable,
        },
      },
    },
    '/api/wallet/alerts': {
      put: {
        operationId: 'putAlerts',
        security: dashboard,
        requestBody: { required: true, content: { 'application/json': { schema: ref('AlertsRequest') } } },
        responses: { '200': json(ref('Alerts'), 'The settings (signingSecret the first time).'), '400': badRequest, '401': unauthorized, '403': noOrganisation, '404': notFound, '503': unavailable },
      },
    },
    '/api/wallet/events': {
      get: {
        operationId: 'listWalletEvents',
        security: dashboard,
        parameters: pageQuery(200, 50),
        responses: { '200': json(ref('WalletEvents'), 'Newest first.'), '400': badRequest, '401': unauthorized, '403': noOrganisation, '503': unavailable },
      },
    },
    '/api/numbers': {
      get: {
        operationId: 'listNumbers',
        summary: "The organisation's rented numbers (bought here), newest first, with their rental terms (CONTRACT §11).",
        security: dashboard,
        responses: { '200': json(ref('RentedNumbers'), 'The numbers.'), '400': badRequest, '401': unauthorized, '403': noOrganisation, '404': notFound, '503': unavailable },
      },
    },
    '/api/numbers/{id}': {
      delete: {
        operationId: 'releaseNumber',
        summary: 'Release a number now (Vapi, then Twilio). No refund of the month begun; nothing more is charged. Idempotent.',
        security: dashboard,
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: {
          '200': json(ref('RentedNumber'), 'Released (also when it was released before).'),
          '202': json(ref('RentedNumber'), 'Released from the customer\'s side (no rent, no calls); Vapi or Twilio did not answer yet, and the service finishes the release.'),
          '401': unauthorized,
          '403': noOrganisation,
          '404': notFound,
          '503': unavailable,
        },
      },
    },
    '/api/admin/clock': {
      get: {
        operationId: 'getBillingClock',
        summary: 'The billing clock (sandbox mode only; 404 elsewhere).',
        security: operator,
        responses: { '200': json(ref('Clock'), 'The clock.'), '401': unauthorized, '404': notFound, '503': unavailable },
      },
      post: {
        operationId: 'advanceBillingClock',
        summary: 'Move the billing clock forward for rentals, grace periods and the daily spend day (sandbox mode only; 404 elsewhere).',
        security: operator,
        requestBody: { required: true, content: { 'application/json': { schema: ref('ClockAdvanceRequest') } } },
        responses: {
          '200': json(ref('Clock'), 'Moved.'),
          '400': badRequest,
          '401': unauthorized,
          '404': notFound,
          '409': error('The clock would run more than ten years ahead: nothing moved (`conflict`).'),
          '503': unavailable,
        },
      },
    },
    '/api/stripe/webhook': {
      post: {
        operationId: 'stripeWebhook',
        summary: "Stripe's events, verified with stripe.webhooks.constructEvent over the raw body (300 s tolerance). Every verified event gets 200.",
        security: [],
        parameters: [{ name: 'Stripe-Signature', in: 'header', required: true, schema: { type: 'string' } }],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } } } },
        responses: {
          '200': json({ type: 'object', required: ['received'], properties: { received: { const: true }, outcome: { type: 'string' } } }, 'Processed (or a duplicate, or nothing to do).'),
          '400': error('`invalid_signature`, or a signed body that is not an event.'),
          '413': error('Body too large.'),
          '503': unavailable,
        },
      },
    },
    '/api/vapi/webhook': {
      post: {
        operationId: 'vapiWebhook',
        summary: 'Vapi server messages: assistant-request (the call gate), status-update, end-of-call-report. Every authenticated message gets 200.',
        security: [{ vapiSecret: [] }],
        requestBody: { required: true, content: { 'application/json': { schema: ref('VapiMessage') } } },
        responses: {
          '200': json({ anyOf: [ref('CallAllowed'), ref('CallRefused'), ref('Received')] }, 'assistant-request: allowed or refused (with a spoken error); other types: acknowledged.'),
          '401': unauthorized,
        },
      },
    },
    '/api/admin/orgs': {
      post: {
        operationId: 'createOrg',
        security: operator,
        requestBody: { required: true, content: { 'application/json': { schema: ref('CreateOrgRequest') } } },
        responses: { '201': json(ref('OrgCreated'), 'Organisation and wallet created.'), '400': badRequest, '401': unauthorized, '409': error('That orgId exists already.'), '503': unavailable },
      },
    },
    '/api/admin/orgs/{orgId}/credits': {
      post: {
        operationId: 'creditWallet',
        summary: 'Top up a wallet.',
        security: operator,
        parameters: [{ name: 'orgId', in: 'path', required: true, schema: uuid }, idempotencyKey],
        requestBody: { required: true, content: { 'application/json': { schema: ref('CreditRequest') } } },
        responses: {
          '201': json(ref('Credited'), 'Credited (also the replay of a credit).'),
          '400': badRequest,
          '401': unauthorized,
          '404': notFound,
          '409': error('The Idempotency-Key was used with a different body.'),
          '503': unavailable,
        },
      },
    },
    '/api/calls': {
      get: {
        operationId: 'listCalls',
        summary: "The organisation's calls, newest first, with their numbers, times, billed seconds, charge and rate.",
        security: dashboard,
        parameters: pageQuery(200, 50),
        responses: { '200': json(ref('Calls'), 'One page.'), '400': badRequest, '401': unauthorized, '403': noOrganisation, '503': unavailable },
      },
      post: {
        operationId: 'placeCall',
        summary: 'Place an outbound call through Vapi, gated first by the same atomic admission as an inbound call (hold, spend controls, frozen), at the rate of its destination.',
        security: dashboard,
        parameters: [idempotencyKey],
        requestBody: { required: true, content: { 'application/json': { schema: ref('PlaceCallRequest') } } },
        responses: {
          '201': json(ref('CallPlaced'), 'Held and placed: Vapi made the call. A replay of the key answers the same.'),
          '202': json(ref('CallPlacing'), "Held; Vapi's answer was lost (timeout or 5xx), so the call may exist. The hold stays until the call sweeper learns its fate; a replay never places a second call and answers 201 (or 502) once it is known."),
          '400': badRequest,
          '401': unauthorized,
          '402': error('The available balance is below what the call must hold: nothing held, no call placed.', 'CallInsufficientFunds'),
          '403': json({ anyOf: [ref('DestinationNotAllowed'), ref('CallLimitReached'), ref('Error')] }, '`destination_not_allowed` (reason blocked | country), `limit_reached`, `wallet_frozen`, or `number_past_due` (the caller\'s number\'s rent is unpaid; with `phoneNumberId`): nothing held, no call placed (the key keeps this answer).'),
          '404': notFound,
          '409': error('The Idempotency-Key was used with another body.'),
          '422': error('`invalid_number`: customer.number is not a valid phone number.'),
          '429': error('`calls_per_second`: the organisation\'s dialing permissions allow no more calls this second (not kept under the key: retry).'),
          '502': error('`call_not_placed`: Vapi refused the call; its hold was released and nothing charged (the key keeps this answer).'),
          '503': error('`platform_at_capacity` (VAPI_CONCURRENCY_LIMIT outbound calls in progress; retry), or the database is not available.'),
        },
      },
    },
    '/api/rates': {
      get: {
        operationId: 'getRate',
        summary: 'The rate a call to (or an inbound call on) a number is charged: the longest matching prefix, else the default.',
        security: dashboard,
        parameters: [{ name: 'number', in: 'query', required: true, schema: { type: 'string', pattern: '^\\+[1-9][0-9]{6,14}$' } }],
        responses: { '200': json(ref('MatchedRate'), 'The matched row (prefix null: the default rate).'), '400': badRequest, '401': unauthorized, '503': unavailable },
      },
    },
    '/api/admin/rates': {
      get: {
        operationId: 'getRates',
        security: operator,
        responses: { '200': json(ref('Rates'), 'The rate table, by prefix.'), '401': unauthorized, '503': unavailable },
      },
      put: {
        operationId: 'putRates',
        summary: 'Replace the whole rate table (one transaction). Calls already admitted keep their rate.',
        security: operator,
        requestBody: { required: true, content: { 'application/json': { schema: ref('RatesRequest') } } },
        responses: { '200': json(ref('Rates'), 'The rate table now.'), '400': badRequest, '401': unauthorized, '503': unavailable },
      },
    },
    '/api/admin/orgs/{orgId}/dialing': {
      get: {
        operationId: 'getDialing',
        security: operator,
        parameters: [{ name: 'orgId', in: 'path', required: true, schema: uuid }],
        responses: { '200': json(ref('Dialing'), 'The dialing permissions (null = none).'), '401': unauthorized, '404': notFound, '503': unavailable },
      },
      put: {
        operationId: 'setDialing',
        summary: 'Replace the dialing permissions (a key left out is null).',
        security: operator,
        parameters: [{ name: 'orgId', in: 'path', required: true, schema: uuid }],
        requestBody: { required: true, content: { 'application/json': { schema: ref('DialingRequest') } } },
        responses: { '200': json(ref('Dialing'), 'The dialing permissions now.'), '400': badRequest, '401': unauthorized, '404': notFound, '503': unavailable },
      },
    },
    '/api/admin/orgs/{orgId}/limits': {
      get: {
        operationId: 'getSpendLimits',
        summary: 'The organisation\'s spend limits (null = none).',
        security: operator,
        parameters: [{ name: 'orgId', in: 'path', required: true, schema: uuid }],
        responses: { '200': json(ref('SpendLimits'), 'The limits.'), '401': unauthorized, '404': notFound, '503': unavailable },
      },
      put: {
        operationId: 'setSpendLimits',
        summary: 'Replace all four spend limits; live calls feel a lowered limit at their next renewal at the latest.',
        security: operator,
        parameters: [{ name: 'orgId', in: 'path', required: true, schema: uuid }],
        requestBody: { required: true, content: { 'application/json': { schema: ref('SpendLimitsRequest') } } },
        responses: { '200': json(ref('SpendLimits'), 'The limits now.'), '400': badRequest, '401': unauthorized, '404': notFound, '503': unavailable },
      },
    },
    '/api/admin/orgs/{orgId}/freeze': {
      post: {
        operationId: 'freezeWallet',
        summary: 'Freeze the wallet: no call admitted, no number bought; calls in progress are ended through their control URLs.',
        security: operator,
        parameters: [{ name: 'orgId', in: 'path', required: true, schema: uuid }],
        requestBody: { required: true, content: { 'application/json': { schema: ref('FreezeRequest') } } },
        responses: { '200': json(ref('FreezeState'), 'Frozen (a second freeze keeps the first reason).'), '400': badRequest, '401': unauthorized, '404': notFound, '503': unavailable },
      },
    },
    '/api/admin/orgs/{orgId}/unfreeze': {
      post: {
        operationId: 'unfreezeWallet',
        security: operator,
        parameters: [{ name: 'orgId', in: 'path', required: true, schema: uuid }],
        requestBody: { required: false, content: { 'application/json': { schema: { type: 'object', additionalProperties: false } } } },
        responses: { '200': json(ref('FreezeState'), 'Not frozen.'), '400': badRequest, '401': unauthorized, '404': notFound, '503': unavailable },
      },
    },
    '/api/admin/phone-numbers': {
      post: {
        operationId: 'registerPhoneNumber',
        summary: 'Register an existing number so that its calls are gated.',
        security: operator,
        requestBody: { required: true, content: { 'application/json': { schema: ref('RegisterPhoneNumberRequest') } } },
        responses: {
          '201': json(ref('PhoneNumberRegistered'), 'Registered.'),
          '400': badRequest,
          '401': unauthorized,
          '404': notFound,
          '409': error('The number or Vapi phone number id is registered already.'),
          '503': unavailable,
        },
      },
    },
    '/admin/queues': {
      get: {
        operationId: 'bullBoard',
        summary: 'Bull Board over every queue (read-only; job data redacted to ids).',
        security: [{ operatorToken: [] }, { operatorBasic: [] }],
        responses: { '200': { description: 'The board.', content: { 'text/html': { schema: { type: 'string' } } } }, '401': unauthorized },
      },
    },
    '/metrics': {
      get: {
        operationId: 'metrics',
        security: operator,
        responses: { '200': { description: 'Prometheus text exposition.', content: { 'text/plain': { schema: { type: 'string' } } } }, '401': unauthorized },
      },
    },
    '/healthz': { get: { operationId: 'liveness', security: [], responses: { '200': json(ref('Health'), 'The process runs.') } } },
    '/readyz': {
      get: {
        operationId: 'readiness',
        security: [],
        responses: { '200': json(ref('Ready'), 'Postgres and Redis answer.'), '503': json(ref('NotReady'), 'A dependency does not answer.') },
      },
    },
    '/openapi.json': {
      get: { operationId: 'openApi', security: [], responses: { '200': json({ type: 'object', required: ['openapi', 'paths'] }, 'This document.') } },
    },
  },
} as const;
