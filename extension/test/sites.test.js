import assert from "node:assert/strict";
import test from "node:test";

import {
  GENERIC, GITHUB, LINKEDIN, MASTODON, X, declaredPhotos, isProfilePhoto, jsonLdNodes, pickAdapter,
  cleanName, profileNameFor, profileUrlFor, sameImage,
} from "../lib/sites.js";

const page = (url, extra = {}) => {
  const u = new URL(url);
  return { url, hostname: u.hostname, pathname: u.pathname, jsonLd: [], ...extra };
};
const img = (src, extra = {}) => ({ src, width: 120, height: 120, alt: "", className: "", ...extra });

test("adapters by host name, subdomains included", () => {
  assert.equal(pickAdapter(page("https://www.linkedin.com/in/dana/")), LINKEDIN);
  assert.equal(pickAdapter(page("https://github.com/octocat")), GITHUB);
  assert.equal(pickAdapter(page("https://x.com/jack")), X);
  assert.equal(pickAdapter(page("https://mobile.twitter.com/jack")), X);
  assert.equal(pickAdapter(page("https://mastodon.social/@Gargron")), MASTODON);
  assert.equal(pickAdapter(page("https://example.org/team")), GENERIC);
  assert.equal(pickAdapter(page("https://notlinkedin.com/in/x")), GENERIC);
});

test("adapters by what the page says it is, under any host", () => {
  assert.equal(pickAdapter(page("https://social.example/@ann", { mastodonRoot: true })), MASTODON);
  assert.equal(pickAdapter(page("https://git.corp.example/ann", { ogSiteName: "GitHub" })), GITHUB);
  assert.equal(pickAdapter(page("http://127.0.0.1:8080/in/dana/", { ogSiteName: "LinkedIn" })), LINKEDIN);
  assert.equal(pickAdapter(page("http://127.0.0.1:8080/jack", { ogSiteName: "X (formerly Twitter)" })), X);
  assert.equal(pickAdapter(page("https://blog.example/", { ogSiteName: "My LinkedIn tips" })), GENERIC);
});

test("small icons, banners, logos and default avatars are not profile photos", () => {
  const licdn = "https://media.licdn.com/dms/image/v2/D4E03AQ/profile-displayphoto-shrink_200_200/0/1?e=1";
  assert.ok(isProfilePhoto(LINKEDIN, img(licdn)));
  assert.ok(!isProfilePhoto(LINKEDIN, img(licdn, { width: 20, height: 20 })), "tiny");
  assert.ok(!isProfilePhoto(LINKEDIN, img(licdn, { width: 800, height: 200 })), "banner shaped");
  assert.ok(!isProfilePhoto(LINKEDIN, img("https://media.licdn.com/dms/image/C4D0BAQ/company-logo_100_100/0/1")));
  assert.ok(!isProfilePhoto(X, img("https://abs.twimg.com/sticky/default_profile_images/default_profile_400x400.png")));
  assert.ok(isProfilePhoto(X, img("https://pbs.twimg.com/profile_images/1/abc_400x400.jpg")));
  assert.ok(!isProfilePhoto(MASTODON, img("https://mastodon.social/avatars/original/missing.png")));
  assert.ok(!isProfilePhoto(GITHUB, img("data:image/png;base64,AAAA")));
});

test("generic: avatar-like images, not logos or hero images", () => {
  assert.ok(isProfilePhoto(GENERIC, img("https://ex.org/a.jpg", { className: "author-avatar" })));
  assert.ok(isProfilePhoto(GENERIC, img("https://ex.org/u/ann-headshot.jpg")));
  assert.ok(isProfilePhoto(GENERIC, img("https://ex.org/a.jpg", { alt: "Profile photo of Ann" })));
  assert.ok(isProfilePhoto(GENERIC, img("https://ex.org/a.jpg", { main: true })));
  assert.ok(!isProfilePhoto(GENERIC, img("https://ex.org/a.jpg")), "an ordinary picture");
  assert.ok(!isProfilePhoto(GENERIC, img("https://ex.org/avatar-logo.png", { className: "avatar" })));
  assert.ok(!isProfilePhoto(GENERIC, img("https://ex.org/hero.jpg", { className: "avatar", width: 1200, height: 400 })));
});

test("generic: a photo the page declares counts even if not avatar-like", () => {
  const declared = [{ image: "https://ex.org/media/ann.jpg", profileUrl: "https://ex.org/people/ann" }];
  assert.ok(isProfilePhoto(GENERIC, img("https://ex.org/media/ann.jpg?w=300"), declared));
  assert.ok(isProfilePhoto(GENERIC, img("https://ex.org/media/ann.jpg", { width: 300, height: 450 }), declared));
  assert.equal(profileUrlFor(GENERIC, img("https://ex.org/media/ann.jpg"), page("https://ex.org/people/ann#bio"), declared),
               "https://ex.org/people/ann");
});

test("JSON-LD: Person, ProfilePage with mainEntity, @graph, ImageObject, arrays", () => {
  const p = page("https://ex.org/people/ann", {
    jsonLd: [
      JSON.stringify({ "@context": "https://schema.org", "@type": "ProfilePage",
                       mainEntity: { "@type": "Person", name: "Ann", image: { "@type": "ImageObject", contentUrl: "/img/ann.jpg" } } }),
      JSON.stringify({ "@graph": [{ "@type": ["Person"], url: "https://ex.org/people/bob", image: ["https://cdn.ex.org/bob.jpg"] },
                                  { "@type": "Organization", logo: "https://ex.org/logo.png" }] }),
      "{ not json",
    ],
    ogType: "website", ogImage: "https://ex.org/share.png",
  });
  assert.deepEqual(declaredPhotos(p), [
    { image: "https://ex.org/img/ann.jpg", profileUrl: "https://ex.org/people/ann", name: "Ann" },
    { image: "https://cdn.ex.org/bob.jpg", profileUrl: "https://ex.org/people/bob" },
    // A ProfilePage makes og:image the profile's photo too.
    { image: "https://ex.org/share.png", profileUrl: "https://ex.org/people/ann", name: "Ann" },
  ]);
  assert.deepEqual(jsonLdNodes("[1, 2]"), []);
});

test("og:image counts only on profile pages", () => {
  assert.deepEqual(declaredPhotos(page("https://ex.org/blog/post", { ogType: "article", ogImage: "https://ex.org/p.jpg" })), []);
  assert.deepEqual(declaredPhotos(page("https://ex.org/u/ann", { ogType: "profile", ogImage: "https://ex.org/ann.jpg" })),
                   [{ image: "https://ex.org/ann.jpg", profileUrl: "https://ex.org/u/ann" }]);
  assert.deepEqual(declaredPhotos(page("https://ex.org/u/ann", { ogType: "profile", ogImage: "javascript:alert(1)" })), []);
});

test("profile URL: the link around the photo, else the page for its own photo, else none", () => {
  const li = page("https://www.linkedin.com/in/dana-whitfield/?trk=x");
  const licdn = "https://media.licdn.com/dms/image/profile-displayphoto-shrink_400_400/0/1";
  assert.equal(profileUrlFor(LINKEDIN, img(licdn, { main: true }), li), "https://www.linkedin.com/in/dana-whitfield/");
  assert.equal(profileUrlFor(LINKEDIN, img(licdn, { linkHref: "https://www.linkedin.com/in/lena?miniProfile=1" }), li),
               "https://www.linkedin.com/in/lena/");
  assert.equal(profileUrlFor(LINKEDIN, img(licdn), li), null, "a photo in a list, no link");
  assert.equal(profileUrlFor(LINKEDIN, img(licdn, { linkHref: "https://evil.example/in/x" }), li), null);

  const xPage = page("https://x.com/chris_t");
  const pbs = "https://pbs.twimg.com/profile_images/1/a_400x400.jpg";
  assert.equal(profileUrlFor(X, img(pbs, { main: true, linkHref: "https://x.com/chris_t/photo" }), xPage), "https://x.com/chris_t");
  assert.equal(profileUrlFor(X, img(pbs, { linkHref: "https://x.com/home" }), page("https://x.com/home")), null);

  const gh = page("https://github.com/octocat");
  assert.equal(profileUrlFor(GITHUB, img("https://avatars.githubusercontent.com/u/1?v=4", { main: true }), gh), "https://github.com/octocat");
  assert.equal(profileUrlFor(GITHUB, img("https://avatars.githubusercontent.com/u/2?v=4", { linkHref: "https://github.com/settings" }), gh), null);

  const md = page("https://mastodon.social/@ann");
  assert.equal(profileUrlFor(MASTODON, img("https://files.mastodon.social/accounts/avatars/1.jpg", { linkHref: "https://mastodon.social/@bob@other.example" }), md),
               "https://mastodon.social/@bob@other.example");
  // A generic page names itself (the photo is seen there), or the member page an avatar links to.
  assert.equal(profileUrlFor(GENERIC, img("https://ex.org/a.jpg", { className: "avatar" }), page("https://ex.org/forum/t/1?p=2")),
               "https://ex.org/forum/t/1");
  assert.equal(profileUrlFor(GENERIC, img("https://ex.org/a.jpg", { className: "avatar", linkHref: "https://ex.org/team/ana" }),
                             page("https://ex.org/team/")), "https://ex.org/team/ana");
  assert.equal(profileUrlFor(GENERIC, img("https://ex.org/a.jpg", { className: "avatar", linkHref: "https://other.example/x" }),
                             page("https://ex.org/team/")), "https://ex.org/team");
});

test("profile name: the declared Person, the heading for the own photo, else alt or link text", () => {
  const li = page("https://www.linkedin.com/in/dana-whitfield/", { heading: "Dana Whitfield" });
  const licdn = "https://media.licdn.com/dms/image/profile-displayphoto-shrink_400_400/0/1";
  assert.equal(profileNameFor(LINKEDIN, img(licdn, { main: true, alt: "" }), li), "Dana Whitfield");
  assert.equal(profileNameFor(LINKEDIN, img(licdn, { alt: "Keller Sam", linkHref: "https://www.linkedin.com/in/keller-sam/" }), li),
               "Keller Sam");
  assert.equal(profileNameFor(GITHUB, img("https://avatars.githubusercontent.com/u/1", { alt: "@octocat", linkText: "" }),
                              page("https://github.com/orgs/x")), null, "a handle is no name");
  const declared = [{ image: "https://ex.org/media/ann.jpg", profileUrl: "https://ex.org/people/ann", name: "Ann Lee" }];
  assert.equal(profileNameFor(GENERIC, img("https://ex.org/media/ann.jpg", { alt: "portrait" }), page("https://ex.org/people/ann"), declared),
               "Ann Lee");
  assert.equal(profileNameFor(GENERIC, img("https://ex.org/b.jpg", { alt: "Avatar", linkText: "Bo Diaz" }), page("https://ex.org/t")),
               "Bo Diaz");
  assert.equal(cleanName("Photo of Maria Santos"), "Maria Santos");
  assert.equal(cleanName("Maria Santos’s profile picture"), "Maria Santos");
  assert.equal(cleanName("profile photo"), null);
  assert.equal(cleanName("https://ex.org/u/1"), null);
  assert.equal(cleanName("x".repeat(90)), null);
});

test("sameImage ignores size parameters", () => {
  assert.ok(sameImage("https://a/b.jpg?w=40", "https://a/b.jpg?w=400"));
  assert.ok(!sameImage("https://a/b.jpg", "https://a/c.jpg"));
  assert.ok(!sameImage("nonsense", "https://a/b.jpg"));
});
