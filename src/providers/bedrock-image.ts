/**
 * The Bedrock image provider: Amazon Nova Canvas / Titan Image Generator v2 via InvokeModel.
 * Panels use TEXT_IMAGE; a regenerate starts from the original with IMAGE_VARIATION.
 */
import { InvokeModelCommand, type BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { z } from 'zod';
import type { GeneratedImage, ImageEditRequest, ImageModel, ImageRequest } from '../core/ports';
import { hashString } from '../core/hash';
import type { ResilienceSettings } from './bedrock-text';
import { MalformedOutputError, requirePng, resilient } from './resilience';

const responseSchema = z.object({ images: z.array(z.string()).min(1), error: z.string().nullish() });

/** Nova Canvas wants sides that are multiples of 16 in 320..4096. */
const side = (n: number) => Math.min(4096, Math.max(320, Math.round(n / 16) * 16));

export class BedrockImageModel implements ImageModel {
  readonly provider = 'bedrock';

  constructor(
    private readonly client: BedrockRuntimeClient,
    private readonly modelId: string,
    private readonly resilience: ResilienceSettings,
  ) {}

  private async invoke(body: Record<string, unknown>, signal: AbortSignal | undefined): Promise<GeneratedImage> {
    return resilient(
      'Bedrock image',
      async (attemptSignal) => {
        const out = await this.client.send(
          new InvokeModelCommand({ modelId: this.modelId, contentType: 'application/json', accept: 'application/json', body: JSON.stringify(body) }),
          { abortSignal: attemptSignal },
        );
        let json: unknown;
        try {
          json = JSON.parse(Buffer.from(out.body).toString('utf8'));
        } catch {
          throw new MalformedOutputError('the Bedrock image model answered with a body that is not JSON');
        }
        const parsed = responseSchema.safeParse(json);
        if (!parsed.success) throw new MalformedOutputError('the Bedrock image model answered without an image');
        if (parsed.data.error) throw new MalformedOutputError(`the Bedrock image model reported: ${parsed.data.error}`);
        return { png: requirePng(new Uint8Array(Buffer.from(parsed.data.images[0] as string, 'base64')), 'the Bedrock image model'), model: this.modelId };
      },
      { ...this.resilience, signal },
    );
  }

  private config(req: ImageRequest) {
    return { numberOfImages: 1, width: side(req.width), height: side(req.height), seed: hashString(req.seed) % 858993459, quality: 'standard' };
  }

  generate(req: ImageRequest): Promise<GeneratedImage> {
    // The rendered `illustrator/panel` prompt when the core sends one; else the scene and its style.
    const text = (req.modelPrompt ?? `${req.prompt}${req.artStyle ? `. Art style: ${req.artStyle}` : ''}`).slice(0, 1024);
    return this.invoke({ taskType: 'TEXT_IMAGE', textToImageParams: { text }, imageGenerationConfig: this.config(req) }, req.signal);
  }

  edit(req: ImageEditRequest): Promise<GeneratedImage> {
    return this.invoke(
      {
        taskType: 'IMAGE_VARIATION',
        imageVariationParams: { text: (req.modelPrompt ?? req.instruction).slice(0, 1024), images: [Buffer.from(req.original).toString('base64')], similarityStrength: 0.7 },
        imageGenerationConfig: this.config(req),
      },
      req.signal,
    );
  }
}
