/** Types for the `espeak-ng` package (an Emscripten build of the eSpeak NG command line), which ships none. */
declare module 'espeak-ng' {
  interface ESpeakNgOptions {
    arguments: string[];
    print?: (line: string) => void;
    printErr?: (line: string) => void;
    instantiateWasm?: (imports: object, done: (instance: object, module: object) => void) => object;
  }
  interface ESpeakNgInstance {
    FS: { readFile(path: string): Uint8Array };
  }
  export default function ESpeakNg(options: ESpeakNgOptions): Promise<ESpeakNgInstance>;
}
