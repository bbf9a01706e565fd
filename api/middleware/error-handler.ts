// The one place errors become HTTP responses: typed AppErrors by their code, body-parser's
// errors as 4xx, anything else as a logged 500 (which is a bug by definition).
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { DataUnavailableError } from '../../shared/db/rpc';
import { AppError } from '../../shared/errors';
import type { Logger } from '../../shared/logger';

interface BodyParserError {
  type?: string;
  status?: number;
}

function fromBodyParser(err: BodyParserError): AppError | undefined {
  switch (err.type) {
    case 'entity.parse.failed':
      return new AppError('invalid_request', 'The request body is not valid JSON.');
    case 'entity.too.large':
      return new AppError('payload_too_large', 'The request body is too large.');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppError('unsupported_media_type', 'The request body encoding is not supported.');
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return new AppError('invalid_request', 'The request body could not be read.');
    default:
      return fromClientError(err);
  }
}

/**
 * Other errors express's router and body-parser raise about the request itself carry an
 * http-errors 4xx status: a path parameter that is not valid percent-encoding (`/orgs/%ZZ/...`),
 * a corrupt gzip body. Still the client's fault, still a 4xx JSON body (found by test/fuzz).
 */
function fromClientError(err: BodyParserError): AppError | undefined {
  const status = err?.status;
  if (typeof status !== 'number' || status < 400 || status > 499) return undefined;
  if (status === 413) return new AppError('payload_too_large', 'The request body is too large.');
  if (status === 415) return new AppError('unsupported_media_type', 'The request body encoding is not supported.');
  return new AppError('invalid_request', 'The request could not be read.');
}

/**
 * SQLSTATE class 22 (data exception) is caused by a value in the request that the database cannot
 * take — a NUL character in a name (22021 / 22P05), a malformed value (22P02) — not by the database
 * being away: the function's transaction rolled back, nothing changed, and retrying cannot help.
 * Found by test/fuzz; both adapters carry the SQLSTATE in the cause's `code`.
 */
function fromDataException(err: DataUnavailableError): AppError | undefined {
  const code = (err.cause as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string' || !code.startsWith('22')) return undefined;
  return new AppError('invalid_request', 'A value in the request cannot be stored (for example, text containing a NUL character).');
}

export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const known = err instanceof AppError ? err : fromBodyParser(err as BodyParserError);
    if (known) {
      res.status(known.status).json(known.toBody());
      return;
    }
    const dataException = err instanceof DataUnavailableError ? fromDataException(err) : undefined;
    if (dataException) {
      log.warn({ err: (err as Error).message, method: req.method, path: req.path }, 'request value refused by the database');
      res.status(dataException.status).json(dataException.toBody());
      return;
    }
    if (err instanceof DataUnavailableError) {
      // The database refused or could not be reached; the SQL function's transaction rolled back,
      // so nothing changed and the client may retry with the same Idempotency-Key.
      log.error({ err: err.message, method: req.method, path: req.path }, 'database unavailable');
      res.status(503).json({ error: 'service_unavailable', message: 'The database is not available; nothing was changed. Retry with the same Idempotency-Key.' });
      return;
    }
    log.error({ err, method: req.method, path: req.path }, 'unhandled error');
    if (res.headersSent) return;
    res.status(500).json({ error: 'internal_error', message: 'Something went wrong on our side; it has been logged.' });
  };
}

export const notFoundHandler: RequestHandler = (_req, res) => {
  res.status(404).json({ error: 'not_found', message: 'No such endpoint.' });
};
