// INPUT of predict: a directory tree or an s3://BUCKET/PREFIX of images, listed once (names only, sorted)
// and read one file at a time as the job gets to it.
import { bucketRoot, directoryRoot, FileTable, isImageFileName, listBucket, listTree, parseS3Url, type ImageRoot } from '@selftrain/data';
import { InputError } from '@selftrain/errors';
import type { ObjectStore } from '@selftrain/storage';

export interface ImageInput {
  root: ImageRoot;
  /** Image files (JPEG, PNG, WebP by extension), relative to the root, `/`-separated, sorted. */
  files: string[];
  /** INPUT as given. */
  location: string;
}

/**
 * Lists INPUT: `s3://BUCKET/PREFIX` through a store on that bucket (`openBucket`, same endpoint and
 * credentials as the configured one), anything else as a local directory (recursive). InputError('INPUT')
 * when it is neither, or holds no image.
 */
export async function openImageInput(location: string, openBucket?: (bucket: string) => Promise<ObjectStore>): Promise<ImageInput> {
  let root: ImageRoot;
  const listed = new FileTable();
  if (location.startsWith('s3:')) {
    const loc = parseS3Url(location);
    if (!loc?.bucket) throw new InputError('INPUT', `${JSON.stringify(location)} is not s3://BUCKET/PREFIX`);
    if (!openBucket) throw new InputError('INPUT', 'an s3:// input needs a configured S3 endpoint');
    const store = await openBucket(loc.bucket);
    root = bucketRoot(store, loc);
    await listBucket(store, loc, listed);
  } else {
    root = directoryRoot(location);
    await listTree(location, 'INPUT', listed);
  }
  const all = Array.from({ length: listed.length }, (_, i) => listed.rel(i));
  const files = all.filter((rel) => isImageFileName(rel.split('/').at(-1)!));
  if (files.length === 0) throw new InputError('INPUT', `no JPEG, PNG or WebP images in ${location}`);
  return { root, files, location };
}
