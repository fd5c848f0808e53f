/** The server's state as the popup reports it: one notice, whatever many photos failed. */

/**
 * @typedef {object} ServerStatus
 * @property {"ok" | "unknown" | string} state  "ok", "unknown" (nothing asked yet) or a problem
 *   from api.js SERVER_PROBLEMS
 * @property {string} serverUrl
 * @property {string} [detail]  the server's own words, when it gave any
 * @property {number} at        when this was learnt (ms since the epoch)
 */

/**
 * The notice for a status, or null when there is nothing to say.
 * @param {ServerStatus | undefined} status
 * @returns {{title: string, text: string, action: string} | null}
 */
export function noticeFor(status) {
  if (!status || status.state === "ok" || status.state === "unknown") return null;
  const server = status.serverUrl;
  switch (status.state) {
    case "unreachable":
      return {
        title: "The headcheck server cannot be reached",
        text: `Nothing answered at ${server}. Start it (headcheck serve --db …) or correct ` +
              "the address in Options. Photos are not marked until it answers.",
        action: "Try again",
      };
    case "unauthorized":
      return {
        title: "The server refused the API key",
        text: `${server} needs a valid key${status.detail ? ` (${status.detail})` : ""}. ` +
              "Set it in Options.",
        action: "Try again",
      };
    case "rate_limited":
    case "busy":
      return {
        title: "The server asked to slow down",
        text: `${server} is busy; the remaining photos are checked when it has room.`,
        action: "Try again",
      };
    case "not_headcheck":
      return {
        title: "That address is not a headcheck server",
        text: `${server} answered, but not with the headcheck API. Check the address in Options.`,
        action: "Try again",
      };
    default:
      return {
        title: "The server failed",
        text: `${server} answered with an error${status.detail ? ` (${status.detail})` : ""}.`,
        action: "Try again",
      };
  }
}
