// The one image type every op reads and writes: HWC, uint8, row-major.

export interface Image {
  data: Uint8Array;
  height: number;
  width: number;
  channels: number;
}

export function createImage(height: number, width: number, channels: number, fill = 0): Image {
  assertShape(height, width, channels);
  const data = new Uint8Array(height * width * channels);
  if (fill !== 0) data.fill(fill);
  return { data, height, width, channels };
}

export function cloneImage(img: Image): Image {
  return { data: img.data.slice(), height: img.height, width: img.width, channels: img.channels };
}

/** Throws when the buffer does not hold exactly height*width*channels bytes. */
export function assertImage(img: Image): void {
  assertShape(img.height, img.width, img.channels);
  const expected = img.height * img.width * img.channels;
  if (img.data.length !== expected) {
    throw new Error(
      `image data has ${img.data.length} bytes, expected ${expected} for ${img.height}x${img.width}x${img.channels}`,
    );
  }
}

function assertShape(height: number, width: number, channels: number): void {
  for (const [name, v] of [['height', height], ['width', width], ['channels', channels]] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new Error(`image ${name} must be a positive integer, got ${v}`);
  }
}
