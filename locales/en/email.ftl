# The emails: subjects, texts, buttons (templates/email.html and email.txt).
# Said in plain text and in HTML alike: no markup here.

email-verify-subject = Confirm your email address
email-verify-intro = Welcome! Please confirm your email address to finish creating your account.
email-confirm-button = Confirm email address
email-verify-outro = The link is valid for 24 hours. If you did not sign up, ignore this email.
email-new-address-subject = Confirm your new email address
email-new-address-intro = Please confirm this address to make it the email address of your account.
email-new-address-outro = The link is valid for 24 hours. Until then your old address keeps working.
email-change-subject = Your email address is being changed
email-change-intro = Someone signed in to your account asked to change its email address to { $email }. The change takes effect when the new address is confirmed.
email-change-button = This was not me: stop the change
email-change-outro = Until the new address is confirmed, the link stops the change and signs every device out; then choose a new password.
email-reset-subject = Reset your password
email-reset-intro = Someone asked to reset the password of your account.
email-reset-button = Choose a new password
email-reset-outro = The link is valid for 1 hour. If it was not you, ignore this email: your password stays as it is.
email-link-subject = Link your { $provider } sign-in to your account?
email-link-intro = Someone signed in with { $provider } using this email address and asked to use it to sign in to your account. If it was you, open the link in the same browser.
email-link-button = Link { $provider }
email-link-outro = The link is valid for 30 minutes and works only in the browser that asked. If it was not you, ignore this email: nothing changes.

# Security notices.
email-security-outro = If this was not you, reset your password at once and tell us: someone may be signed in to your account.
email-password-changed-subject = Your password was changed
email-password-changed-intro = The password of your account was just changed, and your other devices were signed out.
# $name: the name the person gave the factor; $kind: passkey or app.
email-factor-added-subject = A second factor was added to your account
email-factor-added-intro = { $name } ({ $kind ->
        [passkey] a passkey
       *[app] an authenticator app
    }) now protects your account: signing in asks for it after the password.
email-factor-removed-subject = A second factor was removed from your account
email-factor-removed-intro = { $name } ({ $kind ->
        [passkey] a passkey
       *[app] an authenticator app
    }) no longer protects your account.
email-factors-reset-subject = Your account's second factors were reset
email-factors-reset-intro = An administrator removed every second factor of your account and signed out every device. Sign in with your password and set up a second factor again.
email-recovery-code-used-subject = A recovery code was used
email-recovery-code-used-intro = A recovery code was just used to sign in to your account. { $left } unused code(s) remain; make new ones from your account's security page when few are left.
email-new-sign-in-subject = New sign-in to your account
# $device: the browser and system in words ("Firefox on Linux"); $at: the time, UTC.
email-new-sign-in-intro = Your account was signed in to from a browser or device it had not used before: { $device }, on { $at }.
email-new-sign-in-intro-ip = Your account was signed in to from a browser or device it had not used before: { $device } at the address { $ip }, on { $at }.
email-new-sign-in-unknown-device = an unrecognised browser
email-device-signed-out-subject = We signed out a device of yours
email-device-signed-out-intro = A sign-in token of your account that had already been replaced was used again: it may have been copied off one of your devices. We ended that device's session as a precaution; sign in there again. If you did not expect this, change your password and sign out everywhere.
email-identity-linked-subject = { $provider } can now sign in to your account
email-identity-linked-intro = Your { $provider } account was linked to your account here: it can sign you in.
email-identity-linked-intro-email = Your { $provider } account ({ $email }) was linked to your account here: it can sign you in.
email-identity-unlinked-subject = { $provider } can no longer sign in to your account
email-identity-unlinked-intro = Your { $provider } account was unlinked from your account here.

# The parts of every email.
# Under the button, before a short form of its link.
email-fallback = If the button does not work, open this link:
# The text part: the button's text before its link, on a line of its own.
email-action = { $label }:
email-help = Help: { $url }
