import assert from "node:assert/strict";
import test from "node:test";

import {
  DEFAULT_SETTINGS, normalizeServerUrl, originPattern, parseSites, sitePattern, withDefaults,
} from "../lib/settings.js";

test("defaults: a local server, the four sites, no checked marks", () => {
  const s = withDefaults();
  assert.equal(s.serverUrl, "http://127.0.0.1:8000");
  assert.equal(s.apiKey, "");
  assert.equal(s.showChecked, false);
  assert.ok(s.sites.includes("https://*.linkedin.com/*"));
  assert.ok(s.sites.includes("https://github.com/*"));
  assert.ok(s.sites.includes("https://x.com/*"));
  assert.ok(s.sites.includes("https://mastodon.social/*"));
  s.sites.push("changed");
  assert.ok(!DEFAULT_SETTINGS.sites.includes("changed"), "defaults are not shared");
});

test("stored values win; values of the wrong type are ignored", () => {
  const s = withDefaults({ serverUrl: "https://hc.example.org", showChecked: true, sites: "x", apiKey: 5 });
  assert.equal(s.serverUrl, "https://hc.example.org");
  assert.equal(s.showChecked, true);
  assert.deepEqual(s.sites, DEFAULT_SETTINGS.sites);
  assert.equal(s.apiKey, "");
});

test("server address: http(s), trailing slash dropped, no credentials or query", () => {
  assert.equal(normalizeServerUrl(" http://127.0.0.1:8000/ "), "http://127.0.0.1:8000");
  assert.equal(normalizeServerUrl("https://hc.example.org/api/"), "https://hc.example.org/api");
  assert.throws(() => normalizeServerUrl("127.0.0.1:8000"), /http/);
  assert.throws(() => normalizeServerUrl("ftp://example.org"), /http:\/\/ or https:\/\//);
  assert.throws(() => normalizeServerUrl("https://user:key@example.org"), /API key/);
  assert.throws(() => normalizeServerUrl("https://example.org/?k=1"), /query/);
  assert.throws(() => normalizeServerUrl(""), /server address/);
});

test("sites: hosts, ports, schemes and path prefixes as people type them", () => {
  const { patterns, errors } = parseSites(`
    # comments and blank lines are skipped
    linkedin.com
    *.fosstodon.org
    https://github.com/*
    127.0.0.1
    localhost:8080
    http://127.0.0.1:18765
    https://www.linkedin.com/in/
    example.org/team
    https://github.com/*
  `);
  assert.deepEqual(errors, []);
  assert.deepEqual(patterns, [
    "*://*.linkedin.com/*", "*://*.fosstodon.org/*", "https://github.com/*", "*://127.0.0.1/*",
    "*://localhost:8080/*", "http://127.0.0.1:18765/*", "https://www.linkedin.com/in/*",
    "*://*.example.org/team*",
  ]);
  assert.equal(sitePattern("HTTP://Example.ORG"), "http://example.org/*");
});

test("sites: nonsense is reported, line by line", () => {
  const { patterns, errors } = parseSites("not a site\nhttps://ok.example/*\n*://*/*\nfile:///etc/*");
  assert.deepEqual(patterns, ["https://ok.example/*"]);
  assert.equal(errors.length, 3);
  assert.match(errors[0], /not a site/);
});

test("the permission pattern of a server ignores its port", () => {
  assert.equal(originPattern("http://127.0.0.1:8000"), "http://127.0.0.1/*");
  assert.equal(originPattern("https://hc.example.org/api"), "https://hc.example.org/*");
});
