# Les parcours du compte : inscription, confirmation d'une adresse e-mail, mot de passe oublié,
# annulation d'un changement d'e-mail, déconnexion.

# Communs aux parcours.
account-email-label = E-mail
account-password-rules = Au moins 8 caractères, dont une lettre et un chiffre.
account-sign-in-hint = Vous pouvez maintenant vous connecter depuis l'application d'où vous venez.
account-link-dead-title = Ce lien ne fonctionne plus
account-new-password-link = Choisir un nouveau mot de passe
account-foreign-form-title = Ce formulaire provient d'un autre site
account-foreign-form-body = Ouvrez cette page directement sur notre site, puis réessayez.
account-wait-title = Veuillez patienter un instant
account-wait-body = Trop de tentatives depuis ce réseau. Veuillez patienter une minute, puis réessayer.
account-failure-title = Une erreur s'est produite
account-failure-body = Nous n'avons pas pu effectuer cette opération pour le moment. Veuillez réessayer dans un instant.
# Un formulaire envoyé avec une valeur CSRF périmée ou étrangère, affiché de nouveau.
form-expired = Cette page est restée ouverte trop longtemps : nous n'avons pas pu prendre en compte le formulaire. Veuillez réessayer.

# Inscription.
sign-up-title = Créez votre compte
sign-up-lead = Cela ne prend qu'une minute.
sign-up-errors = Veuillez vérifier ce que vous avez saisi :
# $sign_in et $forgot sont les adresses des deux suites possibles.
sign-up-taken = Est-ce la vôtre ? <a href="{ $sign_in }">Connectez-vous</a> ou <a href="{ $forgot }">choisissez un nouveau mot de passe</a>.
sign-up-name = Votre nom <span class="hint">(facultatif)</span>
sign-up-repeat-password = Confirmer le mot de passe
sign-up-submit = Créer le compte
sign-up-have-account = Vous avez déjà un compte ?
sign-up-done-title = Compte créé
sign-up-done-body = Votre compte est prêt et votre session est ouverte.

# L'e-mail de confirmation est en route.
check-email-title = Consultez vos e-mails
check-email-sent = Nous avons envoyé un lien à <strong>{ $email }</strong> pour confirmer votre adresse.
check-email-follow = Ouvrez-le dans les 24 heures pour terminer la création de votre compte ; il vous ramènera ici.
check-email-resend = Rien reçu ? Vérifiez votre dossier de courrier indésirable ou <button class="link">renvoyez le lien</button>.
check-email-resent = Si une inscription est en attente pour cette adresse, nous y avons envoyé un nouveau lien de confirmation.
check-email-resent-next = Ouvrez-le, puis connectez-vous de nouveau.

# Confirmation d'une adresse e-mail.
verify-title = Confirmez votre adresse e-mail
verify-lead = Plus qu'une étape : confirmez que cette adresse e-mail est bien la vôtre.
verify-submit = Confirmer mon adresse e-mail
verify-already-title = Adresse déjà confirmée
verify-already-body = Cette adresse a déjà été confirmée.
verify-dead-body = Les liens de confirmation ne fonctionnent qu'une seule fois, pendant 24 heures, et seul le plus récent est valable.
verify-dead-next = Connectez-vous pour en recevoir un nouveau.
verify-incomplete-title = Ce lien est incomplet
verify-incomplete-body = Le lien de confirmation a été tronqué en chemin. Ouvrez-le de nouveau depuis l'e-mail, ou copiez le lien en entier dans la barre d'adresse de votre navigateur.
verified-title = Adresse e-mail confirmée
verified-password-dropped = Cette adresse a fait l'objet de plusieurs inscriptions ; pour protéger votre compte, aucun mot de passe n'a été conservé.
verified-password-link = Nous vous avons envoyé un e-mail contenant un lien pour choisir votre mot de passe.
verified-thanks = Merci : votre adresse e-mail est confirmée.
verified-signed-in = Votre session est ouverte.

# Mot de passe oublié.
forgot-title = Mot de passe oublié ?
forgot-lead = Saisissez l'adresse e-mail de votre compte : nous vous enverrons un lien pour choisir un nouveau mot de passe.
forgot-submit = Envoyer le lien
forgot-not-email = Cela ne ressemble pas à une adresse e-mail. Veuillez la vérifier et réessayer.
forgot-try-again = Réessayer
forgot-sent = Si un compte utilise cette adresse, un lien pour choisir un nouveau mot de passe y a été envoyé.
forgot-sent-next = Le lien est valable une heure. Rien reçu ? Vérifiez votre dossier de courrier indésirable.

# Choix d'un nouveau mot de passe depuis le lien reçu par e-mail.
reset-title = Choisissez un nouveau mot de passe
reset-new-password = Nouveau mot de passe
reset-repeat = Confirmer le mot de passe
reset-submit = Enregistrer le nouveau mot de passe
reset-differ = Les deux mots de passe ne correspondent pas.
reset-done-title = Mot de passe modifié
reset-done-body = Votre nouveau mot de passe est enregistré et tous les appareils connectés à votre compte ont été déconnectés.
reset-done-continue = Connectez-vous avec celui-ci pour continuer vers l'application.
reset-done-link = Se connecter et continuer
reset-expired-title = Ce lien a expiré
reset-expired-body = Les liens de réinitialisation ne fonctionnent qu'une seule fois, pendant une heure, et seul le plus récent est valable.
reset-expired-next = Demandez un nouveau lien et utilisez-le dans l'heure.
reset-expired-link = M'envoyer un nouveau lien

# Annulation d'un changement d'e-mail, depuis l'avis envoyé à l'ancienne adresse.
cancel-email-title = Annuler le changement d'e-mail ?
cancel-email-lead = L'adresse e-mail de votre compte est sur le point de changer. Si vous n'êtes pas à l'origine de cette demande, annulez le changement dès maintenant : tous les appareils connectés à votre compte seront déconnectés.
cancel-email-submit = Annuler le changement
cancel-email-done-title = Changement d'e-mail annulé
cancel-email-done-body = Le changement d'e-mail a été annulé et tous les appareils ont été déconnectés. Si vous n'êtes pas à l'origine de cette demande, choisissez dès maintenant un nouveau mot de passe via « Mot de passe oublié ».
cancel-email-dead-body = Le changement a déjà été confirmé ou annulé, ou le lien a expiré.
cancel-email-dead-next = Si vous n'avez pas demandé ce changement, choisissez dès maintenant un nouveau mot de passe.

# Déconnexion (une application envoie le navigateur vers /oauth/logout).
sign-out-title = Déconnexion
sign-out-lead-client = <strong>{ $client }</strong> demande votre déconnexion.
sign-out-lead = Se déconnecter de { $brand } dans ce navigateur ?
# $who : l'adresse e-mail ou le nom d'utilisateur de la personne connectée.
sign-out-who = Session ouverte en tant que <strong>{ $who }</strong>.
# Suivi de la liste des applications.
sign-out-applications = La déconnexion met aussi fin à votre session dans :
# $who pour une personne sans adresse e-mail ni nom d'utilisateur.
sign-out-your-account = votre compte
sign-out-button = Se déconnecter
sign-out-done-title = Déconnexion effectuée
sign-out-done-body = Votre session est fermée dans ce navigateur. Vous pouvez fermer cette page.
sign-out-invalid-title = Ce lien de déconnexion n'est pas valide
sign-out-invalid-still = Votre session est toujours ouverte. Revenez à l'application et réessayez.
# Pourquoi le lien n'est pas valide (les noms de paramètres sont ceux du protocole : ne pas les traduire).
sign-out-invalid-twice = Il contient deux fois le même paramètre.
sign-out-invalid-hint = Son id_token_hint n'a pas été émis par ce service.
sign-out-invalid-disagree = Son client_id et son id_token_hint ne concordent pas.
sign-out-invalid-client = Il désigne une application inconnue.
sign-out-invalid-redirect = Son post_logout_redirect_uri n'est pas enregistré pour cette application.
