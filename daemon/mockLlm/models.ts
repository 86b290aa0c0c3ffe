// GET /v1/models and GET /v1/models/{id}.
import { modelNotFound } from './errors';

// A fixed date, so that the listing is the same on every run.
const created = Math.floor(Date.UTC(2024, 0, 1) / 1000);

function modelObject(id: string) {
  return { id, object: 'model', created, owned_by: 'drover-mock' };
}

export function listModels(models: Iterable<string>) {
  return { object: 'list', data: Array.from(models, modelObject) };
}

export function retrieveModel(models: ReadonlySet<string>, id: string) {
  if (!models.has(id)) throw modelNotFound(id);
  return modelObject(id);
}
