# Les pages d'autorisation (connexion via une application, seconde étape, consentement), et les
# messages propres aux flux tels que les pages les disent.
# Les messages peuvent contenir du balisage (<strong>) ; les arguments sont échappés avant d'y être placés.

authorize-error-title = Cette connexion ne peut pas aboutir
authorize-error-body = Revenez à l'application d'où vous venez et recommencez. Si le problème persiste, communiquez à son support l'identifiant de la requête ci-dessous.
authorize-return-unusable = L'adresse de retour de l'application n'est pas utilisable.
authorize-return-unregistered = Le lien de connexion de l'application n'est pas configuré correctement : l'adresse de retour qu'il demande n'est pas enregistrée.
authorize-no-client-id = Le lien de connexion n'indique pas à quelle application il est destiné (aucun client_id).
authorize-unknown-client = Le lien de connexion désigne une application qui n'est pas enregistrée ici.
authorize-client-not-allowed = Cette application n'est pas autorisée à connecter des personnes via cette page.
authorize-no-redirect-uri = Le lien de connexion n'indique pas l'adresse de retour (aucun redirect_uri), et cette application en a plusieurs.
# $detail : ce qui ne va pas dans le lien, en anglais (pour les développeurs).
authorize-link-damaged = Le lien de connexion est endommagé ({ $detail }).
authorize-unavailable = Le service est momentanément indisponible. Veuillez réessayer dans un instant.
authorize-server-error = Une erreur s'est produite de notre côté.
authorize-reason-asked = L'application vous demande de vous reconnecter.
authorize-reason-too-old = Pour votre sécurité, veuillez vous reconnecter.
authorize-reason-other-user = L'application demande un autre compte. Veuillez vous connecter avec celui-ci.
authorize-reason-level = L'application demande une authentification renforcée.
authorize-reason-second-factor = L'application demande votre second facteur.
authorize-too-many-attempts = Trop de tentatives. Veuillez patienter une minute, puis réessayer.
authorize-no-match = L'e-mail, le téléphone ou le nom d'utilisateur et le mot de passe saisis ne correspondent à aucun compte.
authorize-confirm-email-first = Veuillez d'abord confirmer votre adresse e-mail : suivez le lien que nous vous avons envoyé.
authorize-passkey-too-slow = La clé d'accès a mis trop de temps à répondre. Veuillez réessayer.
authorize-passkey-unknown = Cette clé d'accès n'appartient à aucun compte ici. Connectez-vous avec votre mot de passe ou essayez une autre clé d'accès.
authorize-second-step-title = Validation en deux étapes
authorize-code-too-late = Le délai de saisie du code est dépassé. Veuillez vous reconnecter.
authorize-code-wrong = Ce code n'est pas correct. Saisissez le code le plus récent de l'application, ou un code de récupération.
authorize-passkey-refused = Cette clé d'accès n'a pas été acceptée. Réessayez, ou saisissez plutôt un code de votre application.
authorize-code-too-many = Trop de tentatives. Veuillez patienter quelques minutes, puis réessayer.
authorize-sign-in-ended = Votre connexion a pris fin. Veuillez vous reconnecter.
authorize-form-too-large = Le formulaire est trop volumineux ou est arrivé trop lentement
authorize-form-field-twice = Le formulaire contient deux fois le même champ
authorize-form-other-site = Ce formulaire a été envoyé depuis un autre site.
authorize-form-incomplete = Le formulaire est incomplet
authorize-unknown-action = Action inconnue
authorize-enroll-title = Configurer un second facteur
authorize-enroll-body = { $client } exige que les comptes qui s'y connectent disposent d'un second facteur : un code d'une application d'authentification sur votre téléphone, après votre mot de passe.
authorize-enroll-minute = Cela ne prend qu'une minute ; vous reviendrez ensuite ici.
authorize-enroll-link = Le configurer

consent-title = Autoriser l'accès ?
consent-lead = <strong>{ $client }</strong> souhaite utiliser votre compte <strong>{ $who }</strong>.
consent-not-you = Ce n'est pas vous ?
# Qui est sollicité, quand le compte n'a ni adresse e-mail ni nom d'utilisateur.
consent-your-account = votre compte
consent-can = Cette application pourra :
consent-scope-openid = Savoir qui vous êtes lorsque vous vous connectez
consent-scope-profile = Voir votre nom et votre nom d'utilisateur
consent-scope-email = Voir votre adresse e-mail
consent-scope-phone = Voir votre numéro de téléphone
consent-scope-address = Voir votre adresse postale
consent-scope-offline-access = Conserver l'accès lorsque vous n'utilisez pas l'application
# $scope : un scope propre à l'application, tel qu'elle le nomme.
consent-scope-other = Utiliser votre compte pour « { $scope } »
consent-return-to = Vous reviendrez ensuite sur <strong>{ $host }</strong>.
consent-allow = Autoriser
consent-deny = Refuser

# Les messages des flux (en anglais dans l'API), pour les pages : voir pages::flow_message.
flow-email-required = L'adresse e-mail est obligatoire
flow-identifier-required = L'e-mail, le téléphone ou le nom d'utilisateur est obligatoire
flow-password-required = Le mot de passe est obligatoire
flow-new-password-required = Le nouveau mot de passe est obligatoire
flow-current-password-required = Le mot de passe actuel est obligatoire
flow-code-required = Le code est obligatoire
flow-credential-required = La réponse de la clé d'accès est obligatoire
flow-token-required = Le jeton est obligatoire
flow-passwords-differ = Les mots de passe ne correspondent pas
flow-email-too-long = L'adresse e-mail doit contenir au plus 254 caractères
flow-email-invalid = Adresse e-mail non valide
flow-email-look-alike = L'adresse e-mail mélange des caractères qui se ressemblent
flow-password-too-short = Le mot de passe doit contenir au moins 8 caractères
flow-password-too-long = Le mot de passe doit contenir au plus 128 caractères
flow-password-weak = Le mot de passe doit contenir au moins une lettre et un chiffre
flow-password-is-email = Le mot de passe ne doit pas être l'adresse e-mail
flow-phone-empty = Le numéro de téléphone est vide
flow-phone-invalid = Numéro de téléphone non valide
flow-phone-country-code = Le numéro de téléphone doit commencer par + et l'indicatif du pays
flow-username-length = Le nom d'utilisateur doit contenir de 3 à 32 caractères
flow-username-characters = Le nom d'utilisateur ne peut contenir que a-z, 0-9, « . », « _ » et « - »
flow-invalid-credentials = Identifiants incorrects
flow-email-not-verified = Adresse e-mail non confirmée
flow-account-disabled = Compte désactivé
flow-invalid-token = Lien non valide ou expiré
flow-already-verified = Adresse e-mail déjà confirmée
flow-email-in-use = Cette adresse e-mail est déjà utilisée
flow-username-in-use = Ce nom d'utilisateur est déjà utilisé
flow-phone-in-use = Ce numéro de téléphone est déjà utilisé
flow-wrong-password = Le mot de passe actuel est incorrect
flow-invalid-code = Code non valide
flow-invalid-challenge = Demande non valide ou expirée
flow-passkey-refused = La clé d'accès n'a pas été acceptée
flow-passkey-expired = La demande de clé d'accès a expiré
flow-passkeys-unavailable = Les clés d'accès ne sont pas disponibles ici
flow-passkeys-off = Les clés d'accès sont désactivées : les pages d'authd doivent être servies en HTTPS (ou sur localhost) sous un nom de domaine
flow-too-many-attempts = Trop de tentatives, veuillez réessayer plus tard
flow-current-password-needed = Saisissez votre mot de passe actuel pour modifier votre adresse e-mail ou votre numéro de téléphone
flow-factor-name-required = Un nom est obligatoire
flow-factor-name-invalid = 60 caractères au plus, sans caractères de contrôle
flow-no-such-factor = Ce facteur n'existe pas
flow-no-such-pending-factor = Ce facteur en attente n'existe pas
flow-factor-active = Ce facteur est déjà actif
flow-passkey-registered = Cette clé d'accès est déjà enregistrée
flow-passkey-registration-refused = Cette clé d'accès ne correspond pas à cet enregistrement (défi, site ou origine différents, ou absence de vérification de l'utilisateur)
flow-factor-must-keep = Ce compte doit garder un second facteur : ajoutez-en un autre avant de supprimer celui-ci
flow-recovery-codes-need-factor = Les codes de récupération nécessitent un second facteur : ajoutez-en d'abord un
flow-no-such-identity = Cette identité n'existe pas
flow-identity-last-way-in = C'est le dernier moyen de se connecter à ce compte : définissez d'abord un mot de passe (mot de passe oublié) ou ajoutez une clé d'accès
# $field : full, first ou last (le nom).
flow-name-too-long = { $field ->
        [first] Le prénom
        [last] Le nom de famille
       *[full] Le nom complet
    } doit contenir au plus { $max } caractères
flow-name-invalid = { $field ->
        [first] Le prénom
        [last] Le nom de famille
       *[full] Le nom complet
    } contient des caractères non valides
