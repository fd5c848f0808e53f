/**
 * "Wrong?" and "Confirmed" for one verdict, with an optional note: the same controls in a
 * badge's panel (overlay.js) and in the toolbar popup. DOM calls and textContent only.
 */

/**
 * @typedef {import("../lib/wording.js").VerdictView} VerdictView
 * @typedef {{label: string, at: number} | null} Answered  what the user said about the photo
 * @typedef {(sha256: string, label: string, note: string) =>
 *           Promise<{ok: boolean, feedback?: Answered, message?: string}>} SendFeedback
 */

export const ANSWERED = Object.freeze({
  false_positive: "You marked this wrong. Thank you: the server's operator will review it.",
  confirmed: "You confirmed this finding. Thank you.",
});

/**
 * "Wrong?" and "Confirmed", with an optional note, sent to the server's /v1/feedback; once
 * answered, what the user said.
 * @param {VerdictView} view
 * @param {Answered} answered
 * @param {SendFeedback} send
 * @param {(a: Answered) => void} onAnswered
 */
export function buildFeedback(view, answered, send, onAnswered) {
  const box = make("div", "hc-feedback");
  if (answered && Object.hasOwn(ANSWERED, answered.label)) {
    box.append(make("p", "hc-answered", ANSWERED[/** @type {keyof typeof ANSWERED} */ (answered.label)]));
    return box;
  }
  const ask = make("p", "hc-ask", "Is this right? ");
  const wrong = /** @type {HTMLButtonElement} */ (make("button", "hc-fb", "Wrong?"));
  const right = /** @type {HTMLButtonElement} */ (make("button", "hc-fb", "Confirmed"));
  wrong.type = right.type = "button";
  wrong.dataset.answer = "false_positive";
  right.dataset.answer = "confirmed";
  ask.append(wrong, " ", right);
  const form = make("div", "hc-note");
  form.hidden = true;
  const label = make("label", "", "A note for the reviewer (optional)");
  const note = /** @type {HTMLTextAreaElement} */ (make("textarea", ""));
  note.maxLength = 2000;
  note.rows = 2;
  label.append(note);
  const sendButton = /** @type {HTMLButtonElement} */ (make("button", "hc-fb hc-send", "Send"));
  const cancel = /** @type {HTMLButtonElement} */ (make("button", "hc-fb", "Cancel"));
  sendButton.type = cancel.type = "button";
  const status = make("p", "hc-status");
  status.setAttribute("role", "status");
  form.append(label, sendButton, " ", cancel);
  let choice = "";
  for (const b of [wrong, right]) {
    b.addEventListener("click", () => {
      choice = b.dataset.answer ?? "";
      sendButton.textContent = choice === "false_positive" ? "Send: wrong" : "Send: confirmed";
      form.hidden = false;
      note.focus();
    });
  }
  cancel.addEventListener("click", () => {
    form.hidden = true;
    wrong.focus();
  });
  sendButton.addEventListener("click", async () => {
    sendButton.disabled = true;
    status.textContent = "Sending…";
    const reply = await send(view.sha256, choice, note.value);
    sendButton.disabled = false;
    if (reply?.ok && reply.feedback) onAnswered(reply.feedback);
    else status.textContent = `Not sent: ${reply?.message ?? "the server did not answer"}`;
  });
  box.append(ask, form, status);
  return box;
}

/**
 * @param {string} tag
 * @param {string} className
 * @param {string} [text]
 */
export function make(tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text !== undefined) el.textContent = text;
  return el;
}
