/** The worked example of docs/FORMAT.md §19.9: a file's exact bytes and every documented value. */

/** The example file's exact bytes. */
export const TRAIN_CSV = 'id,text,label\n1,win money now,spam\n2,"lunch at 12, ok?",ham\n10,meeting notes,ham\n';
/** Its documented index and digests. */
export const EXAMPLE = {
  fileSha256: 'c76bb974f8e97712c8a74babcfa36722405f0e28b645ac3a216b6b05dd54170f',
  index: [
    '{"features":"50d4df264228e08daf9d2661410f750f8d1a16d34a3baad11399785626f1fa28","fingerprint":"f5750879faf392a3daa0e674938051fc85da81f33b1124f9532e1ba590963f6d","key":["1"],"label":"spam","row":1}',
    '{"features":"7d35b41eb5ca556d855c8ea3a61e084d8a10319be5a10564737e58c0a8a47a60","fingerprint":"5b737318ed1a178bc6f3541c2bc150ae33e2c127e5e9eab040cd7c3932be427d","key":["10"],"label":"ham","row":3}',
    '{"features":"7562332c57b77508e31c975a83c24fe9e3f4008be1351bd093cab1560a1a281d","fingerprint":"430fdab0cdf85137c55d8b92c129a3a617fcb7e905b8d798a2f96988c435d662","key":["2"],"label":"ham","row":2}',
  ],
  indexSha256: 'eb53030a30abf219fb3c270ff33e9ad255e4c91c79ae61c31dff72427f7720a3',
  leaves: [
    '82e45944fcb18ad459c1e1c698a71633d532918507b2b7f4203f6c8c6deddf81',
    'a2f423e8b3794cba1e93356e43ccd141bfb5f85274abbdb6a4ff1c39faef0784',
    'd4993d55e1772241c21c0cecf555da88634e8159195cba9037d7014d5cc27848',
  ],
  merkleRoot: '4df891866c9066a34107073cbf98b352c2ebae6251bd0269d32816a100717ff4',
  /** The index summary (§19.10): its one chunk line, the digests of the chunk's fingerprints and leaf hashes, the summary's digest. */
  summaryLine:
    '{"bytes":587,"fingerprints":"5b2bcd419f0f34884935ee187b47023f516b9b35c701ef5ea2ff1dee7978d81d","leaves":"b87843b4c2ceaef09a2e113936d4a8ff334251b9001da12718a7fc2c5a1bbb07","records":3}',
  fingerprintsSha256: '5b2bcd419f0f34884935ee187b47023f516b9b35c701ef5ea2ff1dee7978d81d',
  /** SHA-256 of the three leaf hashes above, in order: the chunk's `leaves`. */
  leavesSha256: 'b87843b4c2ceaef09a2e113936d4a8ff334251b9001da12718a7fc2c5a1bbb07',
  summarySha256: 'bc6dc34ef2d385d161f7b231ed69213ff0875dd3302c580b3deb7682f9788f42',
  /** The member as snap sealed it before index summaries (§19.10): still valid; the record proof example of §11.5 is built on it. */
  memberWithoutSummary:
    '{"count":3,"format":"csv","identity":"key","index":{"merkleRoot":"4df891866c9066a34107073cbf98b352c2ebae6251bd0269d32816a100717ff4","sha256":"eb53030a30abf219fb3c270ff33e9ad255e4c91c79ae61c31dff72427f7720a3"},"key":["id"],"label":"label","labels":{"ham":2,"spam":1},"path":"train.csv"}',
  /** The member as snap sealed it before a CSV set's columns were signed (§19.11): still valid. */
  memberWithoutColumns:
    '{"count":3,"format":"csv","identity":"key","index":{"merkleRoot":"4df891866c9066a34107073cbf98b352c2ebae6251bd0269d32816a100717ff4","sha256":"eb53030a30abf219fb3c270ff33e9ad255e4c91c79ae61c31dff72427f7720a3","summary":"bc6dc34ef2d385d161f7b231ed69213ff0875dd3302c580b3deb7682f9788f42"},"key":["id"],"label":"label","labels":{"ham":2,"spam":1},"path":"train.csv"}',
  /** The set's column object (§19.11): the header's columns in order, each STRING; 124 bytes. */
  columnsObject: '{"classNames":{},"columns":[{"name":"id","type":"STRING"},{"name":"text","type":"STRING"},{"name":"label","type":"STRING"}]}',
  columnsSha256: 'ff48409240f1456298ddd7cc4bdf359b4bba1fbecd6c8e374b2d5b2ab4aac14f',
  member:
    '{"count":3,"format":"csv","identity":"key","index":{"merkleRoot":"4df891866c9066a34107073cbf98b352c2ebae6251bd0269d32816a100717ff4","sha256":"eb53030a30abf219fb3c270ff33e9ad255e4c91c79ae61c31dff72427f7720a3","summary":"bc6dc34ef2d385d161f7b231ed69213ff0875dd3302c580b3deb7682f9788f42"},"key":["id"],"label":"label","labels":{"ham":2,"spam":1},"path":"train.csv","schema":"ff48409240f1456298ddd7cc4bdf359b4bba1fbecd6c8e374b2d5b2ab4aac14f"}',
};

