// Text the model wrote: the prompt dimmed, the continuation after it.
import { html } from "htl";

export interface SampleViewOptions {
  /** Shown above the text, e.g. "step 300". */
  caption?: string;
}

export function SampleView(sample: { prompt: string; text: string } | undefined, { caption }: SampleViewOptions = {}): HTMLElement {
  if (!sample) return html`<p class="stlm-status">No samples yet: they appear at each evaluation.</p>` as HTMLElement;
  return html`<figure class="stlm-sample-figure">
    ${caption ? html`<figcaption>${caption}</figcaption>` : ""}
    <pre class="stlm-sample"><span class="prompt">${sample.prompt}</span>${sample.text}</pre>
  </figure>` as HTMLElement;
}
