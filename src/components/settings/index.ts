// The front page's settings, as its URL query carries them (url-settings.ts).
import type { PageSettings } from "../url-settings.js";

export const INDEX_SETTINGS: PageSettings = [{ key: "tied", kind: "flag", default: true }];
