// The subset sizes the evaluation card offers (and the evaluation page's URL accepts).
export const BYTE_SIZES = [2048, 4096, 16384, 65536, 262144] as const;
export const ITEM_SIZES = [20, 40, 100, 200, 400, 1000] as const;
