# The account journeys: sign-up, confirming an email address, a forgotten password, stopping
# an email change, signing out.

# Shared by the journeys.
account-email-label = Email
account-password-rules = At least 8 characters, with a letter and a digit.
account-sign-in-hint = You can now sign in from the application you came from.
account-link-dead-title = This link no longer works
account-new-password-link = Choose a new password
account-foreign-form-title = This form came from another site
account-foreign-form-body = Open this page on our own site and try again.
account-wait-title = Please wait a moment
account-wait-body = Too many attempts from here. Please wait a minute and try again.
account-failure-title = Something went wrong
account-failure-body = We could not do that just now. Please try again in a moment.
# A form posted with a stale or foreign CSRF value, shown again.
form-expired = This page was open for a long time, so we could not accept it. Please try again.

# Sign-up.
sign-up-title = Create your account
sign-up-lead = It takes a minute.
sign-up-errors = Please check what you entered:
# $sign_in and $forgot are the addresses of the two ways on.
sign-up-taken = Is it yours? <a href="{ $sign_in }">Sign in</a> or <a href="{ $forgot }">choose a new password</a>.
sign-up-name = Your name <span class="hint">(optional)</span>
sign-up-repeat-password = Repeat the password
sign-up-submit = Create account
sign-up-have-account = Already have an account?
sign-up-done-title = Account created
sign-up-done-body = Your account is ready, and you are signed in.

# The confirmation email is on its way.
check-email-title = Check your email
check-email-sent = We have sent a link to <strong>{ $email }</strong> to confirm your address.
check-email-follow = Follow it within 24 hours to finish creating your account; it brings you back here.
check-email-resend = Nothing arrived? Look in your spam folder, or <button class="link">send the link again</button>.
check-email-resent = If a sign-up is waiting for this address, we have sent it a new confirmation link.
check-email-resent-next = Follow it, then sign in again.

# Confirming an email address.
verify-title = Confirm your email
verify-lead = One step left: confirm that this email address is yours.
verify-submit = Confirm my email address
verify-already-title = Already confirmed
verify-already-body = This address was confirmed already.
verify-dead-body = Confirmation links work once, for 24 hours, and only the newest one works.
verify-dead-next = Sign in to have a new one sent.
verify-incomplete-title = This link is incomplete
verify-incomplete-body = The confirmation link was cut short on its way. Open it from the email again, or copy the whole address into the browser.
verified-title = Email confirmed
verified-password-dropped = This address was signed up more than once, so to keep your account safe no password was kept.
verified-password-link = We have sent you an email with a link to choose your password.
verified-thanks = Thank you: your email address is confirmed.
verified-signed-in = You are signed in.

# A forgotten password.
forgot-title = Forgot your password?
forgot-lead = Enter the email address of your account, and we will send you a link to choose a new password.
forgot-submit = Send the link
forgot-not-email = That does not look like an email address. Please check it and try again.
forgot-try-again = Try again
forgot-sent = If an account uses this address, we have sent it a link to choose a new password.
forgot-sent-next = The link works for one hour. Nothing arrived? Look in your spam folder.

# Choosing a new password from the emailed link.
reset-title = Choose a new password
reset-new-password = New password
reset-repeat = Repeat it
reset-submit = Save the new password
reset-differ = The two passwords differ.
reset-done-title = Password changed
reset-done-body = Your new password is saved, and every device that was signed in has been signed out.
reset-done-continue = Sign in with it to go on to the application.
reset-done-link = Sign in and continue
reset-expired-title = This link has expired
reset-expired-body = Reset links work once, for one hour, and only the newest one works.
reset-expired-next = Ask for a new link and use it within the hour.
reset-expired-link = Send me a new link

# Stopping an email change, from the notice sent to the old address.
cancel-email-title = Stop the email change?
cancel-email-lead = Your account's email address is about to change. If you did not ask for this, stop it now: every device signed in to your account will be signed out.
cancel-email-submit = Stop the change
cancel-email-done-title = Email change stopped
cancel-email-done-body = The email change was stopped and every device was signed out. If you did not ask for it, choose a new password now with "Forgot password".
cancel-email-dead-body = The change was already confirmed or stopped, or the link has expired.
cancel-email-dead-next = If you did not ask for the change, choose a new password now.

# Signing out (an application sends the browser to /oauth/logout).
sign-out-title = Sign out
sign-out-lead-client = <strong>{ $client }</strong> asks to sign you out.
sign-out-lead = Sign out of { $brand } in this browser?
# $who: the email address or username of the person signed in.
sign-out-who = You are signed in as <strong>{ $who }</strong>.
# Followed by the list of the applications.
sign-out-applications = Signing out also ends your sign-in to:
# $who of a person with neither an email address nor a username.
sign-out-your-account = your account
sign-out-button = Sign out
sign-out-done-title = You are signed out
sign-out-done-body = You are signed out of this browser. You can close this page.
sign-out-invalid-title = This sign-out link is not valid
sign-out-invalid-still = You are still signed in. Go back to the application and try again.
# Why the link is not valid (the parameter names are the protocol's own: leave them as they are).
sign-out-invalid-twice = It holds a parameter twice.
sign-out-invalid-hint = Its id_token_hint is not ours.
sign-out-invalid-disagree = Its client_id and id_token_hint disagree.
sign-out-invalid-client = It names an unknown application.
sign-out-invalid-redirect = Its post_logout_redirect_uri is not registered for the application.
