/**
 * Largest single write(2) snap makes of file contents, in bytes (export's archive, restore's files,
 * import's and seal's objects). The page cache takes folios as large as a write, and large folios
 * were measured up to six times slower to fill when earlier work had left memory fragmented: 2 GiB
 * in 4 MiB writes took 3.1–3.2 s right after a `tar -xf`, against 0.52 s otherwise, while 32 KiB
 * writes took 0.73–0.75 s in both states (docs/PERFORMANCE.md, "Archives"). Worker threads get it
 * as a parameter of their body.
 */
export const WRITE_SLICE = 32 << 10;
