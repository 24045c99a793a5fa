// Finding an element id's shape and marking shapes, shared by the modeler and the viewer.

import { is } from 'bpmn-js/lib/util/ModelUtil';

/**
 * The shape showing `id`: the element itself, or for a process drawn as a pool, its participant
 * (a collaboration has no shape for its processes).
 */
export function findShape(viewer, id) {
  const registry = viewer.get('elementRegistry');
  const shape = registry.get(id);
  if (shape) return shape;
  return registry.find((e) => is(e, 'bpmn:Participant')
    && e.businessObject.processRef && e.businessObject.processRef.id === id) || null;
}

/** Puts `marker` on exactly the shapes of `ids`, removing it from every other shape. */
export function markOnly(viewer, marker, ids) {
  const canvas = viewer.get('canvas');
  for (const shape of viewer.get('elementRegistry').getAll()) {
    canvas.removeMarker(shape, marker);
  }
  for (const id of ids) {
    const shape = id && findShape(viewer, id);
    if (shape) canvas.addMarker(shape, marker);
  }
}

/** The id of a diff or change item, which may be a bare id or an {id, name, type} object. */
export function itemId(item) {
  return typeof item === 'string' ? item : item && item.id;
}

/**
 * Fits the whole diagram into view, at most at 100 %, beside the palette rather than under it
 * (bpmn-js's own fit-viewport lets the palette cover the left edge of a wide plan).
 */
export function fitDiagram(viewer) {
  const canvas = viewer.get('canvas');
  const container = canvas.getContainer();
  const palette = container.querySelector('.djs-palette');
  const margin = 20;
  const left = palette ? palette.getBoundingClientRect().right - container.getBoundingClientRect().left + margin : margin;
  const { inner, outer } = canvas.viewbox();
  if (!inner.width || !inner.height || !outer.width || !outer.height) return;
  const scale = Math.min(1, (outer.width - left - margin) / inner.width, (outer.height - 2 * margin) / inner.height);
  canvas.viewbox({
    x: inner.x - left / scale,
    y: inner.y - margin / scale,
    width: outer.width / scale,
    height: outer.height / scale,
  });
}
