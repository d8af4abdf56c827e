# The account's sign-in security page, adding and confirming second factors, the recovery codes,
# the account pages' own sign-in and second step, the passkey script's words, and the sign-in
# through another provider (its failures and the pages that link it to an account).
# Messages may hold markup (<strong>); arguments are escaped before they are put in.

## The security page (templates/security.html).
security-title = Sign-in security
# $who: the account's email or username.
security-lead = Signed in as <strong>{ $who }</strong>
security-your-account = your account
security-factors-heading = Second factors
security-kind-passkey = passkey
security-kind-totp = authenticator app
security-not-confirmed = not confirmed yet
# $date: the day, as 2026-12-06.
security-last-used = last used { $date }
# The span is read out by screen readers only.
security-rename-or-remove = Rename or remove <span class="visually-hidden">{ $name }</span>
security-new-name = New name
security-rename = Rename
security-code-to-confirm = Code to confirm
security-remove = Remove
security-codes-left = Recovery codes left: <strong>{ $count }</strong>
security-new-codes = Make new recovery codes
security-none-yet = None yet. A second factor is asked for after your password (a code from your phone), so a stolen password alone does not open your account.
security-none-yet-passkeys = None yet. A second factor is asked for after your password (a code from your phone, or a passkey), so a stolen password alone does not open your account.
security-add-heading = Add one
security-add-totp = Add an authenticator app
security-passkey-name = Passkey name <span class="hint">(optional)</span>
security-passkey-name-placeholder = Laptop, phone, security key
security-add-passkey = Add a passkey
security-passkey-hint = A passkey lives on this device (or your password manager) and opens with your fingerprint, face or screen lock. It also signs you in without your password.
security-unlink = Unlink <span class="visually-hidden">{ $provider }</span>
security-link-provider = Link { $provider }
security-activity-heading = Recent activity
security-activity-hint = Sign-ins and changes of the last 30 days. Something you do not recognise? Change your password and sign out everywhere.

## What the security page's forms say.
security-failed-title = Something went wrong
security-failed-body = We could not do that just now. Please try again in a moment.
security-foreign-form-title = This form came from another site
security-foreign-form-body = Open this page on our own site and try again.
security-totp-set-up = Your authenticator app is set up.
security-totp-wrong-code = That code is not right: type the six digits the app shows now.
security-passkey-not-checked = The passkey could not be checked. Try again.
security-passkey-not-made = The browser did not make a passkey. Try again.
security-passkey-set-up = Your passkey is set up.
security-passkey-too-slow = The passkey took too long to make. Please add it again.
security-renamed = The factor is renamed.
security-removed = The factor is removed.
security-code-to-remove = Type a code from your authenticator app (or a recovery code) to remove a factor.
security-code-for-new-codes = Type a code from your authenticator app (or a recovery code) to make new recovery codes.

## The account pages' sign-in (/account/sign-in) and its second step.
security-too-many-attempts = Too many attempts. Please wait a minute and try again.
security-sign-in-no-match = That email, phone or username and password do not match an account.
security-sign-in-passkey-refused = That passkey is not one of an account here. Sign in with your password, or try another passkey.
security-sign-in-passkey-too-slow = The passkey took too long to answer. Please try again.
security-sign-in-too-long = Your sign-in waited too long for its code. Please sign in again.
security-sign-in-wrong-code = That code is not right. Type the newest code from the app, or a recovery code.
security-sign-in-passkey-not-accepted = That passkey was not accepted. Try again, or type a code from your app instead.
security-second-step-your-account = Your account

## The second step (templates/second_step.html).
second-step-title = Two-step verification
second-step-use-passkey = Use your passkey
second-step-code-or-recovery = Or a code from your authenticator app, or a recovery code
second-step-code = Code from your authenticator app
second-step-code-hint = Six digits. Lost your device? Type one of your recovery codes instead.
second-step-someone-else = Sign in as someone else

## Adding an authenticator app, a passkey; the recovery codes.
enrol-totp-lead = Scan this code with your authenticator app (Google Authenticator, 1Password, Aegis, ...), then type the six digits it shows.
# $key: the secret, in groups of four characters.
enrol-totp-key = Or type this key: <code class="secret">{ $key }</code>
enrol-totp-code = Code from the app
enrol-totp-confirm = Confirm
enrol-passkey-lead = Your device will ask how to keep the passkey (on this device, your phone, a security key or your password manager) and to confirm with your fingerprint, face or screen lock.
enrol-passkey-no-script = Making a passkey needs JavaScript, which is off in this browser.
enrol-passkey-create = Create the passkey
enrol-passkey-back = Back to sign-in security
recovery-codes-title = Your recovery codes
recovery-codes-new = New recovery codes: the old ones no longer work.
recovery-codes-body = Each code signs you in once if your phone is lost. Write them down or print them, and keep them apart from your phone: they are shown only now.
recovery-codes-saved = I have saved them

## What the passkey script (assets/authd.js) says, from the page's data-msg-* attributes.
passkey-script-not-allowed = No passkey was used. Try again when you are ready.
# $error: the browser's own message (in the browser's language); the script puts it in.
passkey-script-failed = The passkey did not work here: { $error }
passkey-script-unsupported = This browser cannot make passkeys.

## A sign-in through another provider ("Continue with ..."): why it cannot go on.
## $provider: the provider's name, as on its button (GitHub, Google, ...).

upstream-stopped-title = This sign-in cannot go on
upstream-back-to-sign-in = Back to sign in
upstream-back = Back
upstream-unknown-provider = That way of signing in is not offered here.
upstream-unavailable = { $provider } did not answer in time. Please try again in a moment, or sign in another way.
upstream-expired = The sign-in with { $provider } expired or was finished already. Please start again.
upstream-other-browser = This sign-in with { $provider } was started in another browser. Please start again here.
# $why: the provider's own reason, as it sent it (often a code such as access_denied).
upstream-refused = { $provider } did not sign you in ({ $why }).
upstream-invalid = { $provider }'s answer could not be verified, so it signs nobody in.
upstream-service-unavailable = The service is briefly unavailable. Please try again in a moment.
upstream-went-wrong = Something went wrong on our side.
# For the developer of a frontend: redirect_to and the two settings are names, not words.
upstream-bad-redirect = redirect_to must be a page of a registered frontend (AUTHD_FRONTEND_URL or AUTHD_CORS_ORIGINS).
upstream-link-ended = Your sign-in here ended before the other provider answered. Please sign in and link it again.
upstream-could-not-finish = We could not finish this sign-in just now. Please try again in a moment.
upstream-link-request-gone = This link request expired or belongs to another browser. Please start again.
upstream-foreign-form = This form was sent from another site.
upstream-form-expired = This form expired. Please go back and try again.
upstream-no-verified-email = { $provider } did not confirm an email address for you. Sign up with your email here instead, then link { $provider } from your account's security page.
# $domain: the part of the address after the @.
upstream-domain-not-allowed = { $provider } may not sign in addresses at { $domain } here.
upstream-account-disabled = This account is disabled.
upstream-linked-elsewhere = This { $provider } account is linked to another account here already.
upstream-sign-in-ended = Your sign-in has ended.
upstream-no-account = No account here uses { $email }. Create one first, then link { $provider } from your account's security page.
upstream-just-made = An account with this email was just made. Please try again.
upstream-no-such-account = No such account.
upstream-provider-gone = That provider is no longer offered here.

## Proving the account another provider's identity would join (templates/link_account.html,
## link_confirm.html).
link-title = You have an account here
link-lead = An account here already uses <strong>{ $email }</strong>. To sign in to it with { $provider } from now on, show that it is yours, once.
link-password = Your password here
link-and-sign-in = Link { $provider } and sign in
link-no-password = No password at hand?
link-email-instead = We can email a link to { $email } instead; open it in this browser.
link-email-me = Email me a link
link-not-yours = Not your account? Close this page: nothing is linked until it is proved.
link-email-sent = We sent a link to your address. Open it in this browser within 30 minutes.
link-wrong-password = That password is not right.
link-expired = This link request expired. Please start again.
link-mailed-expired = This link expired, was used, or belongs to another browser: open it in the browser where you signed in with the other provider, or start again.
link-used = This link request was used already. Please start again.
link-confirm-title = Link your sign-in
link-confirm-lead = Link the other provider to your account, and sign in with it.
link-confirm-button = Link and sign in
link-confirm-not-asked = Did not ask for this? Close this page: nothing changes.
