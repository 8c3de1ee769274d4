// The worker thread behind DecodePool: decodes each batch of files and sends the pixels back in one buffer.
import { parentPort } from 'node:worker_threads';
import { InputError } from '@selftrain/errors';
import sharp from 'sharp';
import type { DecodeReply, DecodeRequest, DecodeResult } from './decode-pool';
import { decodeImage, decodeImageFile, type DecodedPhoto } from './image-decode';

type Failed = Extract<DecodeResult, { error: unknown }>;

// Each file is decoded once: libvips' operation cache would only hold memory.
sharp.cache(false);

parentPort!.on('message', (req: DecodeRequest) => {
  void Promise.all(
    req.jobs.map((job) =>
      (job.bytes ? decodeImage(job.bytes, job.where, job.opts) : decodeImageFile(job.path!, job.opts)).then(
        (photo): DecodedPhoto | Failed => photo,
        (err: Error): Failed => ({ error: err instanceof InputError ? { message: err.message, field: err.field } : { message: err.message } }),
      ),
    ),
  ).then((done) => {
    let total = 0;
    for (const d of done) if (!('error' in d)) total += d.pixels.byteLength;
    const all = new Uint8Array(total);
    let at = 0;
    const results: DecodeResult[] = done.map((d) => {
      if ('error' in d) return d;
      const { pixels, ...photo } = d;
      all.set(pixels, at);
      at += pixels.byteLength;
      return { photo, at: at - pixels.byteLength, length: pixels.byteLength };
    });
    parentPort!.postMessage({ id: req.id, results, pixels: all.buffer } satisfies DecodeReply, [all.buffer]);
  });
});
