// Input checks shared by the classification metrics, with messages that point at the bad element.

export function assertSameLength(labels: ArrayLike<number>, predictions: ArrayLike<number>): void {
  if (labels.length !== predictions.length) {
    throw new Error(`labels has ${labels.length} entries but predictions has ${predictions.length}`);
  }
}

export function assertNumClasses(numClasses: number): void {
  if (!Number.isInteger(numClasses) || numClasses <= 0) {
    throw new Error(`numClasses must be a positive integer, got ${numClasses}`);
  }
}

/** Every entry must be an integer class id in [0, numClasses). */
export function assertClassIds(values: ArrayLike<number>, numClasses: number, name: string): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isInteger(v) || v < 0 || v >= numClasses) {
      throw new Error(`${name}[${i}] = ${v} is not a class id in 0..${numClasses - 1}`);
    }
  }
}
