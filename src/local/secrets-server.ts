/**
 * A local AWS Secrets Manager endpoint for `GetSecretValue`, in the service's real
 * JSON 1.1 wire format (`X-Amz-Target: secretsmanager.GetSecretValue`). There is no npm
 * emulator for Secrets Manager; this answers the one call the platform makes.
 */
import http from 'node:http';
import { closeServer, listenLocal } from './http-util';

export class LocalSecretsServer {
  readonly secrets = new Map<string, string>();
  readonly counters = { getSecretValue: 0 };
  private readonly server = http.createServer((req, res) => void this.handle(req, res));

  listen(port = 0): Promise<string> {
    return listenLocal(this.server, port);
  }

  close(): Promise<void> {
    return closeServer(this.server);
  }

  private reply(res: http.ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'Content-Type': 'application/x-amz-json-1.1', 'x-amzn-RequestId': `local-${Date.now()}` });
    res.end(JSON.stringify(body));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (req.headers['x-amz-target'] !== 'secretsmanager.GetSecretValue') {
      return this.reply(res, 400, { __type: 'InvalidRequestException', Message: `unsupported operation ${String(req.headers['x-amz-target'])}` });
    }
    this.counters.getSecretValue += 1;
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { SecretId?: string };
    const value = body.SecretId === undefined ? undefined : this.secrets.get(body.SecretId);
    if (value === undefined) {
      return this.reply(res, 400, { __type: 'ResourceNotFoundException', Message: "Secrets Manager can't find the specified secret." });
    }
    this.reply(res, 200, {
      ARN: `arn:aws:secretsmanager:us-east-1:000000000000:secret:${body.SecretId}-AbCdEf`,
      Name: body.SecretId,
      SecretString: value,
      VersionId: '00000000-0000-0000-0000-000000000001',
      VersionStages: ['AWSCURRENT'],
      CreatedDate: Math.floor(Date.now() / 1000),
    });
  }
}
