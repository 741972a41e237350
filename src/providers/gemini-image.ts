/**
 * The Gemini image provider (`gemini-2.5-flash-image` family) through the official
 * `@google/genai` SDK. The API key is read from Secrets Manager on first use, cached in
 * memory, and never logged (`secretKeySource` in ./secret-key). Panels are text-to-image; a
 * regenerate sends the original PNG with the user's instruction.
 */
import { GoogleGenAI, type Part } from '@google/genai';
import type { GeneratedImage, ImageEditRequest, ImageModel, ImageRequest } from '../core/ports';
import type { ResilienceSettings } from './bedrock-text';
import { MalformedOutputError, requirePng, resilient } from './resilience';

export class GeminiImageModel implements ImageModel {
  readonly provider = 'gemini';
  private ai?: Promise<GoogleGenAI>;

  constructor(
    private readonly apiKey: () => Promise<string>,
    private readonly model: string,
    private readonly baseUrl: string | undefined,
    private readonly resilience: ResilienceSettings,
  ) {}

  /** No `httpOptions.retryOptions`: the SDK then makes one attempt, and `resilient` retries. */
  private client(): Promise<GoogleGenAI> {
    this.ai ??= this.apiKey().then((apiKey) => new GoogleGenAI({ apiKey, ...(this.baseUrl ? { httpOptions: { baseUrl: this.baseUrl } } : {}) }));
    this.ai.catch(() => {
      this.ai = undefined;
    });
    return this.ai;
  }

  private async call(parts: Part[], signal: AbortSignal | undefined): Promise<GeneratedImage> {
    const ai = await this.client();
    return resilient(
      'Gemini image',
      async (attemptSignal) => {
        const out = await ai.models.generateContent({
          model: this.model,
          contents: [{ role: 'user', parts }],
          config: { responseModalities: ['IMAGE', 'TEXT'], abortSignal: attemptSignal },
        });
        const image = out.candidates?.[0]?.content?.parts?.find((p) => p.inlineData?.data)?.inlineData;
        if (!image?.data) throw new MalformedOutputError('the Gemini image model returned no image');
        if (image.mimeType !== 'image/png') throw new MalformedOutputError(`the Gemini image model returned ${image.mimeType ?? 'an unknown type'}, not a PNG`);
        return { png: requirePng(new Uint8Array(Buffer.from(image.data, 'base64')), 'the Gemini image model'), model: this.model };
      },
      { ...this.resilience, signal },
    );
  }

  generate(req: ImageRequest): Promise<GeneratedImage> {
    // The rendered `illustrator/panel` prompt when the core sends one; else the same words inline.
    const text = req.modelPrompt ?? `Illustrate this story panel${req.artStyle ? ` in a ${req.artStyle} style` : ''}, with no text in the picture: ${req.prompt}`;
    return this.call([{ text }], req.signal);
  }

  edit(req: ImageEditRequest): Promise<GeneratedImage> {
    return this.call(
      [{ inlineData: { mimeType: 'image/png', data: Buffer.from(req.original).toString('base64') } }, { text: req.modelPrompt ?? `Edit this illustration: ${req.instruction}. Keep its composition, characters and style.` }],
      req.signal,
    );
  }
}
