// Start the GOV.UK Frontend components (service navigation menu, error summary focus, ...).
import { initAll } from "./govuk/govuk-frontend.min.js";

initAll();
