import type { AddressInfo } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface TestSmtp {
  url: string;
  messages: ParsedMail[];
  /** Refuse recipients from now on (a mailbox that does not exist). */
  rejectRecipients(reject: boolean): void;
  close(): Promise<void>;
}

/** A real SMTP server on 127.0.0.1 that keeps what it receives, parsed. */
export async function startSmtp(): Promise<TestSmtp> {
  const messages: ParsedMail[] = [];
  let reject = false;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(_address, _session, callback) {
      if (reject) return callback(Object.assign(new Error('No such mailbox'), { responseCode: 550 }));
      callback();
    },
    onData(stream, _session, callback) {
      simpleParser(stream).then((mail) => {
        messages.push(mail);
        callback();
      }, callback);
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    rejectRecipients: (value) => {
      reject = value;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
