// Start the GOV.UK Frontend components (service navigation menu, error summary focus, ...).
import { initAll } from "./govuk/govuk-frontend.min.js";

initAll();

// The success banner stays in view after every action, even when the page was asked for at
// a section further down (e.g. #proposals): the browser scrolls to the section once the page
// has loaded, so the banner is brought back into view after that.
const banner = document.querySelector(".govuk-notification-banner--success");
if (banner) {
  const show = () => {
    banner.scrollIntoView({ block: "start" });
    banner.focus({ preventScroll: true });
  };
  if (document.readyState === "complete") show();
  else window.addEventListener("load", () => setTimeout(show, 0), { once: true });
}
