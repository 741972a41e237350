/** `npm run local-bedrock`: the local Bedrock runtime on PORT (default 4010). */
import { LocalBedrockServer } from './bedrock-server';
import { scriptArgs } from './cli';

const USAGE = `Usage: npm run local-bedrock

Serves a local Bedrock runtime on http://127.0.0.1:PORT (HTTP/2 cleartext): Converse,
ConverseStream and InvokeModel for the image models, with Bedrock's error format.
Point Story42 at it (with the default PORT):
  STORY42_BEDROCK_ENDPOINT=http://127.0.0.1:4010 STORY42_TEXT_PROVIDER=bedrock STORY42_IMAGE_PROVIDER=bedrock npm start
Ctrl-C stops it.

Arguments: none.  -h, --help  prints this text.

Environment:
  PORT   port to listen on (default 4010)
`;

async function main(): Promise<void> {
  if (!scriptArgs(USAGE)) return;
  const port = Number(process.env.PORT ?? 4010);
  const server = new LocalBedrockServer();
  const url = await server.listen(port);
  process.stdout.write(
    [
      `Local Bedrock runtime on ${url} (HTTP/2 cleartext)`,
      `Point Story42 at it:  STORY42_BEDROCK_ENDPOINT=${url} STORY42_TEXT_PROVIDER=bedrock STORY42_IMAGE_PROVIDER=bedrock npm start`,
      'Ctrl-C stops it.',
      '',
    ].join('\n'),
  );
  const stop = () => void server.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

void main();
