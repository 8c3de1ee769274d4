/**
 * The mask value of a pixel that has no label (VOC's 255): mIoU counts it nowhere, the segmentation loss
 * skips it, augmentation pads masks with it, and pseudo-labels mark unconfident pixels with it. A dataset's
 * manifest may name another (DatasetManifest.ignore_label); this is the default everywhere.
 */
export const IGNORE_LABEL = 255;
