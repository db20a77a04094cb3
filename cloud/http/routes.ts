// Every route plugin of the cloud besides the box API (which app.ts registers itself), in one list.
import type { RoutePlugin } from './app.js';
import { adminRoutes } from './admin-routes.js';
import { boxDossierRoutes } from './box-dossier-routes.js';
import { citizenRoutes } from './citizen-routes.js';
import { consoleRoutes } from './console-routes.js';
import { dossierRoutes } from './dossier-routes.js';
import { fleetRoutes } from '../fleet/routes.js';
import { healthRoutes } from '../health/routes.js';
import { releaseRoutes } from '../releases/routes.js';

export const ROUTES: RoutePlugin[] = [
  dossierRoutes,
  citizenRoutes,
  boxDossierRoutes,
  adminRoutes,
  fleetRoutes,
  releaseRoutes,
  healthRoutes,
  consoleRoutes,
];
