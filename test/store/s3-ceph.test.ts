/** The S3 store against Ceph's RADOS Gateway (ignores If-None-Match in versioned buckets; working Object Lock). */
import { defineS3StoreTests } from './s3-suite.js';

defineS3StoreTests('ceph');
