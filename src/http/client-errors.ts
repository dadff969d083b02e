import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { envelope } from '../contract/envelope.js';
import { HTTP_STATUS } from './errors.js';

/**
 * Requests Node's HTTP parser refuses before koa sees them (a request line or headers over the
 * 16 KB limit, malformed bytes) are answered with the error envelope too: Node's own answer is a
 * bare `431`/`400` with no body, which no client of the envelope can read.
 */
export function answerClientErrors(server: Server, logger: Logger): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    // Nothing to answer on a socket that is gone or already answering.
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
    const body = JSON.stringify(
      envelope('VALIDATION_ERROR', tooLarge ? 'request line and headers are too large' : 'malformed HTTP request', { reason: error.code ?? null }),
    );
    logger.debug({ code: error.code }, 'malformed HTTP request refused');
    const status = HTTP_STATUS.VALIDATION_ERROR;
    socket.end(
      `HTTP/1.1 ${status} Bad Request\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}
