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
      return undefined;
  }
}

export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const known = err instanceof AppError ? err : fromBodyParser(err as BodyParserError);
    if (known) {
      res.status(known.status).json(known.toBody());
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
