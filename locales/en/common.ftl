# The layout, the pages every journey shares, and the sign-in page.
# Messages may hold markup (<strong>); arguments are escaped before they are put in.

help = Help
request-id = Request id
continue = Continue
continue-with = Continue with { $provider }
or = or
password = Password
show-password = Show password
go-to-start = Go to the start
form-post-body = Taking you back to the application.

home-title = Sign-in service
home-body = This is the sign-in service of { $brand }. Applications send you here to sign in; you can also manage how you sign in.
home-security-link = Your sign-in security
not-found-title = Page not found
not-found-body = There is no page at this address. It may have moved, or the link was cut short.
form-only-title = This page cannot be opened directly
form-only-body = It answers a form. Go back to the form and send it again.

sign-in = Sign in
sign-in-lead-client = to continue to <strong>{ $client }</strong>
sign-in-lead-security = to your account's security
sign-in-unverified = Your email address is not verified yet.
sign-in-resend = Send the link again
sign-in-identifier = Email, phone or username
forgot-password-link = Forgot password?
sign-in-passkey = Sign in with a passkey
sign-in-other-ways = Other ways to sign in
sign-in-no-account = No account yet?
sign-in-create-account = Create one

# A flow's own message the catalogue does not have (never expected: see pages::flow_message).
flow-message = { $message }
