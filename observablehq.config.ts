// Observable Framework site config. Everything the built site needs ships in dist/:
// no Google Fonts (globalStylesheets: []), no CDN libraries (pages import d3, Plot,
// Inputs and htl from node_modules), tfjs from a local bundle (src/vendor/).
export default {
  title: "Super Tiny LM Lab",
  root: "src",
  pages: [
    { name: "Super tiny language models", path: "/" },
    { name: "Train a byte-level model", path: "/train" },
    { name: "Weight tying and sharing", path: "/sharing" },
    { name: "Tokenizer-free: bytes pooled into chunks", path: "/tokenizer-free" },
    { name: "Other ways to learn: predicting more than the next byte", path: "/objectives" },
    { name: "Dropout: when does a tiny model need it?", path: "/dropout" },
    { name: "Distillation: learning from a bigger model", path: "/distillation" },
    { name: "Self-play: learning a game with no teacher", path: "/self-play" },
    { name: "Evaluate a model", path: "/evaluate" },
    { name: "How fast does this browser train?", path: "/bench" },
    { name: "Writing your own report", path: "/guide" },
    { name: "Example report: two learning rates", path: "/example-report" },
    // lib/README.md (published through the src/lib symlink): the library's map, as a page.
    { name: "The model library (lib/)", path: "/lib/README" }
  ],
  globalStylesheets: [],
  // style.css holds the light/dark theme pair (air, near-midnight): a `style` file
  // replaces the `theme` option, so the pair is imported there.
  style: "style.css",
  head: '<link rel="icon" href="data:image/svg+xml,%3Csvg xmlns=%22http://www.w3.org/2000/svg%22 viewBox=%220 0 16 16%22%3E%3Crect width=%2216%22 height=%2216%22 rx=%223%22 fill=%22%234269d0%22/%3E%3C/svg%3E">',
  search: false,
  toc: true,
  pager: true,
  footer: "Super Tiny LM Lab. Built with Observable Framework and TensorFlow.js; everything runs in your browser."
};
