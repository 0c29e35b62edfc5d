/**
 * Milliseconds an image's analysis spent per stage, e.g. `decode`, `detect.ssd.frame`,
 * `detect.ssd.tiles`, `landmarks.68`, `landmarks.five`, `align`, `embed.dlib-resnet`: what
 * `bench:identify --profile` and the worker's latency histograms read. A stage that ran several
 * times (tiles, faces) holds the sum.
 */
export type StageTimings = Record<string, number>;
