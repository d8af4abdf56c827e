# La page de sécurité de la connexion, l'ajout et la confirmation des seconds facteurs, les codes
# de récupération, la connexion propre aux pages du compte et sa deuxième étape, les mots du
# script des clés d'accès, et la connexion par un autre fournisseur (ses échecs et les pages qui
# l'associent à un compte).
# Les messages peuvent contenir du balisage (<strong>) ; les arguments sont échappés avant d'y être placés.

## La page de sécurité (templates/security.html).
security-title = Sécurité de la connexion
# $who : l'e-mail ou le nom d'utilisateur du compte.
security-lead = Session ouverte en tant que <strong>{ $who }</strong>
security-your-account = votre compte
security-factors-heading = Seconds facteurs
security-kind-passkey = clé d'accès
security-kind-totp = application d'authentification
security-not-confirmed = pas encore confirmée
# $date : le jour, sous la forme 2026-12-06.
security-last-used = dernière utilisation le { $date }
# Le span n'est lu que par les lecteurs d'écran.
security-rename-or-remove = Renommer ou supprimer <span class="visually-hidden">{ $name }</span>
security-new-name = Nouveau nom
security-rename = Renommer
security-code-to-confirm = Code de confirmation
security-remove = Supprimer
security-codes-left = Codes de récupération restants : <strong>{ $count }</strong>
security-new-codes = Générer de nouveaux codes de récupération
security-none-yet = Aucun pour l'instant. Un second facteur est demandé après votre mot de passe (un code de votre téléphone) : ainsi, un mot de passe volé ne suffit pas à accéder à votre compte.
security-none-yet-passkeys = Aucun pour l'instant. Un second facteur est demandé après votre mot de passe (un code de votre téléphone ou une clé d'accès) : ainsi, un mot de passe volé ne suffit pas à accéder à votre compte.
security-add-heading = En ajouter un
security-add-totp = Ajouter une application d'authentification
security-passkey-name = Nom de la clé d'accès <span class="hint">(facultatif)</span>
security-passkey-name-placeholder = Ordinateur portable, téléphone, clé de sécurité
security-add-passkey = Ajouter une clé d'accès
security-passkey-hint = Une clé d'accès est conservée sur cet appareil (ou dans votre gestionnaire de mots de passe) et se déverrouille avec votre empreinte digitale, votre visage ou le verrouillage de l'écran. Elle permet aussi de vous connecter sans mot de passe.
security-unlink = Dissocier <span class="visually-hidden">{ $provider }</span>
security-link-provider = Associer { $provider }
security-activity-heading = Activité récente
security-activity-hint = Connexions et modifications des 30 derniers jours. Vous ne reconnaissez pas une activité ? Changez votre mot de passe et déconnectez-vous partout.

## Ce que disent les formulaires de la page de sécurité.
security-failed-title = Une erreur s'est produite
security-failed-body = Nous n'avons pas pu effectuer cette opération pour le moment. Veuillez réessayer dans un instant.
security-foreign-form-title = Ce formulaire provient d'un autre site
security-foreign-form-body = Ouvrez cette page directement sur notre site, puis réessayez.
security-totp-set-up = Votre application d'authentification est configurée.
security-totp-wrong-code = Ce code n'est pas correct : saisissez les six chiffres que l'application affiche maintenant.
security-passkey-not-checked = La clé d'accès n'a pas pu être vérifiée. Réessayez.
security-passkey-not-made = Le navigateur n'a pas créé de clé d'accès. Réessayez.
security-passkey-set-up = Votre clé d'accès est configurée.
security-passkey-too-slow = La création de la clé d'accès a pris trop de temps. Veuillez l'ajouter de nouveau.
security-renamed = Le facteur a été renommé.
security-removed = Le facteur a été supprimé.
security-code-to-remove = Saisissez un code de votre application d'authentification (ou un code de récupération) pour supprimer un facteur.
security-code-for-new-codes = Saisissez un code de votre application d'authentification (ou un code de récupération) pour générer de nouveaux codes de récupération.

## La connexion des pages du compte (/account/sign-in) et sa deuxième étape.
security-too-many-attempts = Trop de tentatives. Veuillez patienter une minute, puis réessayer.
security-sign-in-no-match = L'e-mail, le téléphone ou le nom d'utilisateur et le mot de passe saisis ne correspondent à aucun compte.
security-sign-in-passkey-refused = Cette clé d'accès n'appartient à aucun compte ici. Connectez-vous avec votre mot de passe ou essayez une autre clé d'accès.
security-sign-in-passkey-too-slow = La clé d'accès a mis trop de temps à répondre. Veuillez réessayer.
security-sign-in-too-long = Le délai de saisie du code est dépassé. Veuillez vous reconnecter.
security-sign-in-wrong-code = Ce code n'est pas correct. Saisissez le code le plus récent de l'application, ou un code de récupération.
security-sign-in-passkey-not-accepted = Cette clé d'accès n'a pas été acceptée. Réessayez, ou saisissez plutôt un code de votre application.
security-second-step-your-account = Votre compte

## La deuxième étape (templates/second_step.html).
second-step-title = Validation en deux étapes
second-step-use-passkey = Utiliser votre clé d'accès
second-step-code-or-recovery = Ou un code de votre application d'authentification, ou un code de récupération
second-step-code = Code de votre application d'authentification
second-step-code-hint = Six chiffres. Vous avez perdu votre appareil ? Saisissez plutôt l'un de vos codes de récupération.
second-step-someone-else = Se connecter avec un autre compte

## Ajouter une application d'authentification, une clé d'accès ; les codes de récupération.
enrol-totp-lead = Scannez ce code avec votre application d'authentification (Google Authenticator, 1Password, Aegis…), puis saisissez les six chiffres qu'elle affiche.
# $key : la clé secrète, par groupes de quatre caractères.
enrol-totp-key = Ou saisissez cette clé : <code class="secret">{ $key }</code>
enrol-totp-code = Code de l'application
enrol-totp-confirm = Confirmer
enrol-passkey-lead = Votre appareil vous demandera où conserver la clé d'accès (sur cet appareil, votre téléphone, une clé de sécurité ou votre gestionnaire de mots de passe) et de confirmer avec votre empreinte digitale, votre visage ou le verrouillage de l'écran.
enrol-passkey-no-script = La création d'une clé d'accès nécessite JavaScript, qui est désactivé dans ce navigateur.
enrol-passkey-create = Créer la clé d'accès
enrol-passkey-back = Retour à la sécurité de la connexion
recovery-codes-title = Vos codes de récupération
recovery-codes-new = Nouveaux codes de récupération : les anciens ne fonctionnent plus.
recovery-codes-body = Chaque code permet de vous connecter une fois si vous perdez votre téléphone. Notez-les ou imprimez-les, et conservez-les à l'écart de votre téléphone : ils ne sont affichés qu'une seule fois.
recovery-codes-saved = Je les ai conservés

## Ce que dit le script des clés d'accès (assets/authd.js), d'après les attributs data-msg-* de la page.
passkey-script-not-allowed = Aucune clé d'accès n'a été utilisée. Réessayez lorsque vous le souhaitez.
# $error : le message du navigateur lui-même (dans sa langue) ; le script l'insère.
passkey-script-failed = La clé d'accès n'a pas fonctionné ici : { $error }
passkey-script-unsupported = Ce navigateur ne peut pas créer de clés d'accès.

## La connexion par un autre fournisseur (« Continuer avec… ») : pourquoi elle ne peut pas continuer.
## $provider : le nom du fournisseur, tel que sur son bouton (GitHub, Google…).

upstream-stopped-title = Cette connexion ne peut pas aboutir
upstream-back-to-sign-in = Retour à la connexion
upstream-back = Retour
upstream-unknown-provider = Ce mode de connexion n'est pas proposé ici.
upstream-unavailable = { $provider } n'a pas répondu à temps. Veuillez réessayer dans un instant ou vous connecter autrement.
upstream-expired = La connexion avec { $provider } a expiré ou est déjà terminée. Veuillez recommencer.
upstream-other-browser = Cette connexion avec { $provider } a été lancée dans un autre navigateur. Veuillez recommencer ici.
# $why : la raison donnée par le fournisseur, telle qu'il l'a envoyée (souvent un code comme access_denied).
upstream-refused = { $provider } a refusé la connexion ({ $why }).
upstream-invalid = La réponse de { $provider } n'a pas pu être vérifiée : la connexion a donc été refusée.
upstream-service-unavailable = Le service est momentanément indisponible. Veuillez réessayer dans un instant.
upstream-went-wrong = Une erreur s'est produite de notre côté.
# Pour le développeur d'un frontend : redirect_to et les deux réglages sont des noms, à laisser tels quels.
upstream-bad-redirect = redirect_to doit être une page d'un frontend enregistré (AUTHD_FRONTEND_URL ou AUTHD_CORS_ORIGINS).
upstream-link-ended = Votre session ici a pris fin avant la réponse de l'autre fournisseur. Veuillez vous connecter et recommencer l'association.
upstream-could-not-finish = Nous n'avons pas pu terminer cette connexion pour le moment. Veuillez réessayer dans un instant.
upstream-link-request-gone = Cette demande d'association a expiré ou appartient à un autre navigateur. Veuillez recommencer.
upstream-foreign-form = Ce formulaire a été envoyé depuis un autre site.
upstream-form-expired = Ce formulaire a expiré. Veuillez revenir en arrière et réessayer.
upstream-no-verified-email = { $provider } n'a pas confirmé d'adresse e-mail pour vous. Inscrivez-vous plutôt ici avec votre adresse e-mail, puis associez { $provider } depuis la page de sécurité de votre compte.
# $domain : la partie de l'adresse après le @.
upstream-domain-not-allowed = { $provider } ne peut pas être utilisé ici pour les adresses du domaine { $domain }.
upstream-account-disabled = Ce compte est désactivé.
upstream-linked-elsewhere = Ce compte { $provider } est déjà associé à un autre compte ici.
upstream-sign-in-ended = Votre session a pris fin.
upstream-no-account = Aucun compte ici n'utilise { $email }. Créez-en d'abord un, puis associez { $provider } depuis la page de sécurité de votre compte.
upstream-just-made = Un compte avec cette adresse e-mail vient d'être créé. Veuillez réessayer.
upstream-no-such-account = Ce compte n'existe pas.
upstream-provider-gone = Ce fournisseur n'est plus proposé ici.

## Prouver le compte auquel l'identité d'un autre fournisseur serait associée
## (templates/link_account.html, link_confirm.html).
link-title = Vous avez un compte ici
link-lead = Un compte utilise déjà <strong>{ $email }</strong> ici. Pour pouvoir désormais vous y connecter avec { $provider }, prouvez qu'il vous appartient ; cette vérification n'est demandée qu'une fois.
link-password = Votre mot de passe ici
link-and-sign-in = Associer { $provider } et se connecter
link-no-password = Pas de mot de passe sous la main ?
link-email-instead = Nous pouvons plutôt envoyer un lien à { $email } ; ouvrez-le dans ce navigateur.
link-email-me = M'envoyer un lien par e-mail
link-not-yours = Ce n'est pas votre compte ? Fermez cette page : rien n'est associé tant que vous n'avez pas prouvé qu'il vous appartient.
link-email-sent = Nous avons envoyé un lien à votre adresse. Ouvrez-le dans ce navigateur dans les 30 minutes.
link-wrong-password = Ce mot de passe n'est pas correct.
link-expired = Cette demande d'association a expiré. Veuillez recommencer.
link-mailed-expired = Ce lien a expiré, a déjà été utilisé ou appartient à un autre navigateur : ouvrez-le dans le navigateur utilisé pour vous connecter avec l'autre fournisseur, ou recommencez.
link-used = Cette demande d'association a déjà été utilisée. Veuillez recommencer.
link-confirm-title = Associer votre connexion
link-confirm-lead = Associez l'autre fournisseur à votre compte et utilisez-le pour vous connecter.
link-confirm-button = Associer et se connecter
link-confirm-not-asked = Vous n'avez rien demandé ? Fermez cette page : rien ne change.
