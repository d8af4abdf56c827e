# The authorize pages (sign-in through an application, second step, consent), and the flows'
# own messages as the pages say them.
# Messages may hold markup (<strong>); arguments are escaped before they are put in.

authorize-error-title = This sign-in cannot go on
authorize-error-body = Go back to the application you came from and start again. If it keeps happening, tell its support the request id below.
authorize-return-unusable = The application's return address is not usable.
authorize-return-unregistered = The application's sign-in link is not set up correctly: the address it asks to return to is not registered.
authorize-no-client-id = The sign-in link does not say which application it is for (no client_id).
authorize-unknown-client = The sign-in link names an application that is not registered here.
authorize-client-not-allowed = This application is not allowed to sign people in through this page.
authorize-no-redirect-uri = The sign-in link does not say where to return (no redirect_uri), and this application has several addresses.
# $detail: what is wrong with the link, in English (for developers).
authorize-link-damaged = The sign-in link is damaged ({ $detail }).
authorize-unavailable = The service is briefly unavailable. Please try again in a moment.
authorize-server-error = Something went wrong on our side.
authorize-reason-asked = The application asks you to sign in again.
authorize-reason-too-old = For your security, please sign in again.
authorize-reason-other-user = The application asks for another account. Please sign in with it.
authorize-reason-level = The application asks for a stronger sign-in.
authorize-reason-second-factor = The application asks for your second factor.
authorize-too-many-attempts = Too many attempts. Please wait a minute and try again.
authorize-no-match = That email, phone or username and password do not match an account.
authorize-confirm-email-first = Please confirm your email address first: follow the link we sent you.
authorize-passkey-too-slow = The passkey took too long to answer. Please try again.
authorize-passkey-unknown = That passkey is not one of an account here. Sign in with your password, or try another passkey.
authorize-second-step-title = Two-step verification
authorize-code-too-late = Your sign-in waited too long for its code. Please sign in again.
authorize-code-wrong = That code is not right. Type the newest code from the app, or a recovery code.
authorize-passkey-refused = That passkey was not accepted. Try again, or type a code from your app instead.
authorize-code-too-many = Too many attempts. Please wait a few minutes and try again.
authorize-sign-in-ended = Your sign-in has ended. Please sign in again.
authorize-form-too-large = The form is too large or came too slowly
authorize-form-field-twice = The form holds a field twice
authorize-form-other-site = This form was sent from another site.
authorize-form-incomplete = The form is incomplete
authorize-unknown-action = Unknown action
authorize-enroll-title = Set up a second factor
authorize-enroll-body = { $client } asks that accounts signing in to it have a second factor: a code from an authenticator app on your phone, after your password.
authorize-enroll-minute = It takes a minute; then you come back here.
authorize-enroll-link = Set it up

consent-title = Allow access?
consent-lead = <strong>{ $client }</strong> wants to use your account <strong>{ $who }</strong>.
consent-not-you = Not you?
# Who is asked, when the account has neither an email address nor a username.
consent-your-account = your account
consent-can = It will be able to:
consent-scope-openid = Know who you are when you sign in
consent-scope-profile = See your name and username
consent-scope-email = See your email address
consent-scope-phone = See your phone number
consent-scope-address = See your postal address
consent-scope-offline-access = Stay signed in when you are not using it
# $scope: a scope of the application's own, as it names it.
consent-scope-other = Use your account for “{ $scope }”
consent-return-to = You will go back to <strong>{ $host }</strong>.
consent-allow = Allow
consent-deny = Deny

# The flows' messages (English in the API), for the pages: see pages::flow_message.
flow-email-required = Email is required
flow-identifier-required = Email, phone or username is required
flow-password-required = Password is required
flow-new-password-required = New password is required
flow-current-password-required = Current password is required
flow-code-required = Code is required
flow-credential-required = Credential is required
flow-token-required = Token is required
flow-passwords-differ = Passwords do not match
flow-email-too-long = Email must be at most 254 characters
flow-email-invalid = Invalid email address
flow-email-look-alike = Email address mixes look-alike characters
flow-password-too-short = Password must be at least 8 characters
flow-password-too-long = Password must be at most 128 characters
flow-password-weak = Password must contain at least one letter and one digit
flow-password-is-email = Password must not be the email address
flow-phone-empty = Phone number is empty
flow-phone-invalid = Invalid phone number
flow-phone-country-code = Phone number must start with + and the country code
flow-username-length = Username must be 3 to 32 characters
flow-username-characters = Username may contain only a-z, 0-9, '.', '_' and '-'
flow-invalid-credentials = Invalid credentials
flow-email-not-verified = Email not verified
flow-account-disabled = Account disabled
flow-invalid-token = Invalid or expired token
flow-already-verified = Email already verified
flow-email-in-use = Email already in use
flow-username-in-use = Username already in use
flow-phone-in-use = Phone number already in use
flow-wrong-password = Current password is incorrect
flow-invalid-code = Invalid code
flow-invalid-challenge = Invalid or expired challenge
flow-passkey-refused = The passkey was not accepted
flow-passkey-expired = The passkey request expired
flow-passkeys-unavailable = Passkeys are not available here
flow-passkeys-off = Passkeys are off: authd's pages must be served over HTTPS (or at localhost) under a domain name
flow-too-many-attempts = Too many attempts, please try again later
flow-current-password-needed = Enter your current password to change your email or phone
flow-factor-name-required = A name is required
flow-factor-name-invalid = At most 60 characters, no control characters
flow-no-such-factor = No such factor
flow-no-such-pending-factor = No such pending factor
flow-factor-active = The factor is active already
flow-passkey-registered = This passkey is registered already
flow-passkey-registration-refused = This credential does not answer this registration (another challenge, site or origin, or no user verification)
flow-factor-must-keep = This account must keep a second factor: add another before removing this one
flow-recovery-codes-need-factor = Recovery codes come with a second factor: add one first
flow-no-such-identity = No such identity
flow-identity-last-way-in = This is the account's last way to sign in: set a password (forgot password) or add a passkey first
# $field: full, first or last (name).
flow-name-too-long = { $field ->
        [first] First name
        [last] Last name
       *[full] Full name
    } must be at most { $max } characters
flow-name-invalid = { $field ->
        [first] First name
        [last] Last name
       *[full] Full name
    } contains invalid characters
