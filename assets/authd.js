// authd's pages work without this file, but for passkeys (WebAuthn is a script's API). With
// it, each "Show password" box (hidden until now) shows or hides the password fields of its
// form as it is ticked.
for (const box of document.querySelectorAll('input[data-show-password]')) {
  const fields = box.form.querySelectorAll('input[type="password"]');
  box.closest('.show-password').hidden = false;
  box.addEventListener('change', () => {
    for (const field of fields) field.type = box.checked ? 'text' : 'password';
  });
}

// Passkeys (WebAuthn). The server's options carry binary values as base64url; the browser's
// answer goes back the same way, as JSON in the form's `credential` field. Buttons stay hidden
// where the browser has no WebAuthn. What the form says comes from the page, in its language
// (`data-msg-*`: `{error}` in the failure stands for the browser's own message).
const b64u = {
  decode: (s) => Uint8Array.from(
    atob(s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4)),
    (c) => c.charCodeAt(0),
  ).buffer,
  encode: (buffer) => btoa(String.fromCharCode(...new Uint8Array(buffer)))
    .replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''),
};

function creationOptions(json) {
  const publicKey = structuredClone(json.publicKey);
  publicKey.challenge = b64u.decode(publicKey.challenge);
  publicKey.user.id = b64u.decode(publicKey.user.id);
  for (const c of publicKey.excludeCredentials || []) c.id = b64u.decode(c.id);
  return { publicKey };
}

function requestOptions(json) {
  const publicKey = structuredClone(json.publicKey);
  publicKey.challenge = b64u.decode(publicKey.challenge);
  for (const c of publicKey.allowCredentials || []) c.id = b64u.decode(c.id);
  return { publicKey };
}

function credentialJSON(credential) {
  const r = credential.response;
  const response = { clientDataJSON: b64u.encode(r.clientDataJSON) };
  if (r.attestationObject) response.attestationObject = b64u.encode(r.attestationObject);
  if (r.authenticatorData) {
    response.authenticatorData = b64u.encode(r.authenticatorData);
    response.signature = b64u.encode(r.signature);
    response.userHandle = r.userHandle ? b64u.encode(r.userHandle) : null;
  }
  return {
    id: credential.id,
    rawId: b64u.encode(credential.rawId),
    type: credential.type,
    response,
    clientExtensionResults: credential.getClientExtensionResults(),
  };
}

function passkeyForm(form, start) {
  const button = form.querySelector('[data-passkey-button]');
  const status = form.querySelector('[data-passkey-status]');
  const answer = async (options) => {
    const credential = await start(options);
    if (!credential) return;
    form.elements.credential.value = JSON.stringify(credentialJSON(credential));
    form.submit();
  };
  const failed = (e) => {
    if (e.name === 'AbortError' || !status) return;
    status.textContent = e.name === 'NotAllowedError'
      ? form.dataset.msgNotAllowed
      : form.dataset.msgFailed.replace('{error}', () => e.message);
    status.hidden = false;
  };
  if (button) button.hidden = false;
  return { button, answer, failed };
}

if (window.PublicKeyCredential) {
  for (const form of document.querySelectorAll('form[data-passkey-create]')) {
    const options = JSON.parse(form.dataset.passkeyCreate);
    const { button, answer, failed } = passkeyForm(form, (o) => navigator.credentials.create(o));
    button.addEventListener('click', () => answer(creationOptions(options)).catch(failed));
  }
  for (const form of document.querySelectorAll('form[data-passkey-get]')) {
    const options = JSON.parse(form.dataset.passkeyGet);
    let waiting = null;
    const { button, answer, failed } = passkeyForm(form, (o) => navigator.credentials.get(o));
    const ask = (conditional) => {
      if (waiting) waiting.abort();
      waiting = new AbortController();
      const o = requestOptions(options);
      o.signal = waiting.signal;
      if (conditional) o.mediation = 'conditional';
      return answer(o).catch(conditional ? () => {} : failed);
    };
    button.addEventListener('click', () => ask(false));
    // The sign-in page: passkeys offered in the name field's autofill, as the browser can.
    if ('conditional' in form.dataset && PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then((can) => can && ask(true));
    }
  }
} else {
  for (const form of document.querySelectorAll('form[data-passkey-create]')) {
    const status = form.querySelector('[data-passkey-status]');
    status.textContent = form.dataset.msgUnsupported;
    status.hidden = false;
  }
}
