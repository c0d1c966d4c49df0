/**
 * The toolbar popup: this browser's licences at a glance (verified offline), and the way to buy or manage them.
 * Buying opens the checkout in a tab, which survives the popup closing while the user scans with a phone.
 * @module
 */

import { createIntegration } from "../app.js";
import { byId } from "./dom.js";
import { localize } from "./i18n.js";
import { renderLicences } from "./licence-card.js";
import { COMMON_HANDLERS } from "./next-step-view.js";

const integration = createIntegration();

localize();
byId("buy").addEventListener("click", COMMON_HANDLERS.buy);
byId("manage").addEventListener("click", () => chrome.runtime.openOptionsPage());
renderLicences(byId("licences"), await integration.licences(), { handlers: COMMON_HANDLERS, compact: true });
