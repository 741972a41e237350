/** `npm run local-bedrock`: the local Bedrock runtime on PORT (default 4010). */
import { LocalBedrockServer } from './bedrock-server';

async function main(): Promise<void> {
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
