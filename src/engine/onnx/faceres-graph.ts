import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { convertTfjsGraph, type TfjsGraphNode } from './tfjs-graph-converter.js';
import type { WeightMap } from './onnx-types.js';
import { readTfjsWeights, type TfjsWeightGroup, tfjsWeightsHash } from './tfjs-weights.js';

/** Bump when the converter's output for FaceRes changes: cached files of older graphs are then not used. */
const GRAPH_VERSION = 'faceres/1';
export const FACERES_INPUT = 'input_1';
/** The node of FaceRes's graph that holds the 1024-D face descriptor (the others are age, gender). */
export const FACERES_DESCRIPTOR = 'global_pooling/Mean';

interface GraphModelJson {
  modelTopology: { node: TfjsGraphNode[] };
  weightsManifest: TfjsWeightGroup[];
}

/** Human's FaceRes graph model (model.json), and what keys the graph built from it: a hash of its files and GRAPH_VERSION. */
export async function faceResKey(modelJson: string): Promise<string> {
  const text = await readFile(modelJson, 'utf8');
  const model = JSON.parse(text) as GraphModelJson;
  const sha256 = await tfjsWeightsHash(path.dirname(modelJson), text, model.weightsManifest);
  return createHash('sha256').update(GRAPH_VERSION).update(sha256).digest('hex');
}

/** FaceRes's graph (its nodes) and its float16 weights decoded as tfjs does. */
export async function readFaceResModel(modelJson: string): Promise<{ nodes: TfjsGraphNode[]; weights: WeightMap }> {
  const model = JSON.parse(await readFile(modelJson, 'utf8')) as GraphModelJson;
  return {
    nodes: model.modelTopology.node,
    weights: await readTfjsWeights(path.dirname(modelJson), model.weightsManifest),
  };
}

/**
 * FaceRes translated op by op from its tfjs graph, the descriptor branch only: input [batch, 224,
 * 224, 3] as the model takes it (pixels 0..255), output FACERES_DESCRIPTOR [batch, 1024].
 */
export function buildFaceResGraph(nodes: readonly TfjsGraphNode[], weights: WeightMap): Uint8Array {
  return convertTfjsGraph('faceres', nodes, weights, [FACERES_DESCRIPTOR]);
}
