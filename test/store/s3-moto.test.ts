/** The S3 store against moto_server (honours If-None-Match; no working Object Lock). */
import { defineS3StoreTests } from './s3-suite.js';

defineS3StoreTests('moto');
