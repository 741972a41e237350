/**
 * Saving files. A browser ignores `download` on a link to another origin (the S3 origin of the
 * presigned URLs), so a picture or an MP3 is fetched (the bucket allows GET from the studio's
 * origin: CORS) and saved from an object URL.
 */
export function saveBlob(blob: Blob, fileName: string): void {
  const href = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = href;
  a.download = fileName;
  a.rel = 'noopener';
  a.style.display = 'none';
  document.body.appendChild(a);
  a.click();
  a.remove();
  // Long enough for the browser to start writing the file.
  setTimeout(() => URL.revokeObjectURL(href), 60_000);
}

export class DownloadError extends Error {
  constructor(
    message: string,
    readonly url: string,
  ) {
    super(message);
    this.name = 'DownloadError';
  }
}

/** Fetches a presigned URL and saves it as `fileName`; the size in bytes. */
export async function saveUrl(url: string, fileName: string, signal?: AbortSignal): Promise<number> {
  let res: Response;
  try {
    // no-store: a copy the page's <img>/<audio> cached came without CORS headers (no Origin was sent), and would fail this read.
    res = await fetch(url, { mode: 'cors', credentials: 'omit', cache: 'no-store', ...(signal ? { signal } : {}) });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new DownloadError(`${fileName} could not be fetched from storage (the storage may not allow downloads from this site).`, url);
  }
  if (!res.ok) throw new DownloadError(res.status === 403 ? `The link to ${fileName} has expired: reload the page for fresh links.` : `${fileName} could not be fetched (HTTP ${res.status}).`, url);
  const blob = await res.blob();
  saveBlob(blob, fileName);
  return blob.size;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}

/** A date and time in the user's words. */
export function formatDate(iso: string | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}
