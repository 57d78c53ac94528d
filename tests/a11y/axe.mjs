// Runs axe-core on pages of a running portal in the system's headless Chromium (no browser download) and prints
// one JSON object: {"<url>": [{"id", "impact", "help", "targets": [...]}, ...]} with the serious and critical
// violations of each page. Usage: node axe.mjs '<json>' where json is
//   {"base": "http://127.0.0.1:PORT", "paths": ["/", "/ru/compliance", ...],
//    "login": {"user": "...", "password": "..."} (optional: log in through CKAN's form first)}
import { createRequire } from "node:module";
import puppeteer from "puppeteer-core";

const require = createRequire(import.meta.url);
const axeSource = require.resolve("axe-core/axe.min.js");
const config = JSON.parse(process.argv[2]);
const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"],
});
const results = {};
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1300, height: 1000 });
  if (config.login) {
    await page.goto(config.base + "/user/login", { waitUntil: "load" });
    await page.type("#field-login", config.login.user);
    await page.type("#field-password", config.login.password);
    await Promise.all([
      page.waitForNavigation({ waitUntil: "load" }),
      page.click("form[method=post] button[type=submit]"),
    ]);
  }
  for (const path of config.paths) {
    const url = config.base + path;
    const response = await page.goto(url, { waitUntil: "load" });
    await page.addScriptTag({ path: axeSource });
    const found = await page.evaluate(async () => {
      // WCAG 2.1 A/AA and best practices, as the audit ran them.
      const report = await window.axe.run(document, {
        runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] },
      });
      return report.violations.map((v) => ({
        id: v.id, impact: v.impact, help: v.help,
        targets: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
      }));
    });
    results[path] = {
      status: response ? response.status() : null,
      violations: found.filter((v) => v.impact === "serious" || v.impact === "critical"),
      other: found.filter((v) => v.impact !== "serious" && v.impact !== "critical").map((v) => v.id),
    };
  }
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(results, null, 1));
