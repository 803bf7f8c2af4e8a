// The local-stack model drawn over a short text: the bytes, the byte layers
// that read a window of bytes up to each one, one core position per chunk at
// the chunk's last byte, and the arrow from each core position to the bytes of
// the next chunk, which is where what the core knows is added.
import { svg } from "htl";

type Span = readonly [number, number];

export function LocalStackDiagram(bytes: Uint8Array, spans: readonly Span[], { width = 640, window = 64 }: { width?: number; window?: number } = {}): SVGElement {
  const n = Math.min(bytes.length, 40);
  const shown = spans.filter(([s]) => s < n).map(([s, e]) => [s, Math.min(e, n)] as const);
  const left = 124;
  const cell = Math.max(9, Math.min(22, (width - left - 8) / Math.max(1, n)));
  const w = left + cell * n + 8;
  const rows = { out: 18, dec: 58, core: 112, enc: 166, bytes: 206 };
  const x = (i: number) => left + i * cell + cell / 2;
  const ch = (b: number) => (b === 32 ? "·" : b < 32 || b > 126 ? "•" : String.fromCharCode(b));
  const label = (y: number, text: string) => svg`<text x="4" y=${y + 4} font-size="11" fill="currentColor">${text}</text>`;
  const band = (y: number) => svg`<rect x=${left} y=${y - 9} width=${cell * n} height="18" rx="3" fill="var(--theme-foreground-faint)" opacity="0.5"></rect>`;
  const parts = [
    label(rows.out, "next byte"),
    label(rows.dec, "byte layer"),
    label(rows.core, "core (chunks)"),
    label(rows.enc, `byte layer (${window} back)`),
    label(rows.bytes, "bytes"),
    band(rows.dec),
    band(rows.enc),
    ...Array.from({ length: n }, (_, i) => svg`<text x=${x(i)} y=${rows.bytes + 4} font-size=${Math.min(13, cell)} text-anchor="middle" font-family="var(--monospace)" fill="currentColor">${ch(bytes[i])}</text>`),
    ...Array.from({ length: n - 1 }, (_, i) => svg`<text x=${x(i)} y=${rows.out + 4} font-size=${Math.min(13, cell)} text-anchor="middle" font-family="var(--monospace)" fill="var(--theme-foreground-muted)">${ch(bytes[i + 1])}</text>`),
    ...shown.map(([s, e], j) => svg`<rect x=${left + s * cell + 1} y=${rows.bytes + 10} width=${(e - s) * cell - 2} height="4" fill=${`hsl(${(j * 67) % 360} 60% 55%)`}></rect>`),
    ...shown.flatMap(([, e], j) => {
      const last = e - 1;
      const next = shown[j + 1];
      const hue = `hsl(${(j * 67) % 360} 60% 45%)`;
      return [
        svg`<line x1=${x(last)} y1=${rows.enc - 9} x2=${x(last)} y2=${rows.core + 9} stroke=${hue} stroke-width="1.5"></line>`,
        svg`<circle cx=${x(last)} cy=${rows.core} r=${Math.min(8, cell / 2)} fill=${hue}></circle>`,
        j > 0 ? svg`<line x1=${x(shown[j - 1][1] - 1)} y1=${rows.core} x2=${x(last)} y2=${rows.core} stroke="var(--theme-foreground-muted)" stroke-dasharray="2 2"></line>` : null,
        next ? svg`<path d=${`M${x(last)},${rows.core - 8} C${x(last)},${rows.dec + 20} ${x(next[0])},${rows.dec + 30} ${x(next[0])},${rows.dec + 10}`} fill="none" stroke=${hue} stroke-width="1.5" marker-end="url(#stlm-arrow)"></path>` : null,
        next ? svg`<line x1=${x(next[0])} y1=${rows.dec + 9} x2=${x(next[1] - 1)} y2=${rows.dec + 9} stroke=${hue} stroke-width="3"></line>` : null
      ];
    })
  ];
  const title = `The local-stack model over the first ${n} bytes: ${shown.length} chunks; the core reads each chunk's last byte and hands its output to the bytes of the next chunk.`;
  return svg`<svg width=${w} height="240" viewBox=${`0 0 ${w} 240`} role="img" aria-label=${title} style="max-width: 100%; height: auto; color: var(--theme-foreground)">
    <title>${title}</title>
    <desc>${`Chunks of the first ${n} bytes, as the core reads them: ${shown.map(([s, e]) => `bytes ${s}–${e - 1} "${Array.from(bytes.subarray(s, e), ch).join("")}"`).join(", ")}.`}</desc>
    <defs><marker id="stlm-arrow" viewBox="0 0 10 10" refX="8" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="var(--theme-foreground-muted)"></path></marker></defs>
    ${parts}
  </svg>` as SVGElement;
}
