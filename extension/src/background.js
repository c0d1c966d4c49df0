/**
 * The service worker: keeps polling orders once no checkout page is open, notifies when paid, refreshes licences.
 * @module
 */

import { createIntegration } from "./app.js";
import { BackgroundService } from "./background/service.js";
import { systemClock } from "./lib/clock.js";

new BackgroundService({ chrome, integration: createIntegration(), sleep: systemClock.sleep }).start();
