# Les e-mails : objets, textes, boutons (templates/email.html et email.txt).
# Dits en texte brut comme en HTML : pas de balisage ici.

email-verify-subject = Confirmez votre adresse e-mail
email-verify-intro = Bienvenue ! Veuillez confirmer votre adresse e-mail pour terminer la création de votre compte.
email-confirm-button = Confirmer l'adresse e-mail
email-verify-outro = Le lien est valable 24 heures. Si vous n'êtes pas à l'origine de cette inscription, ignorez cet e-mail.
email-new-address-subject = Confirmez votre nouvelle adresse e-mail
email-new-address-intro = Veuillez confirmer cette adresse pour en faire l'adresse e-mail de votre compte.
email-new-address-outro = Le lien est valable 24 heures. En attendant, votre ancienne adresse reste utilisable.
email-change-subject = Votre adresse e-mail est en cours de modification
email-change-intro = Une personne connectée à votre compte a demandé à remplacer l'adresse e-mail du compte par { $email }. Le changement prendra effet lorsque la nouvelle adresse sera confirmée.
email-change-button = Ce n'était pas moi : annuler le changement
email-change-outro = Tant que la nouvelle adresse n'est pas confirmée, le lien annule le changement et déconnecte tous les appareils ; choisissez ensuite un nouveau mot de passe.
email-reset-subject = Réinitialisez votre mot de passe
email-reset-intro = Quelqu'un a demandé à réinitialiser le mot de passe de votre compte.
email-reset-button = Choisir un nouveau mot de passe
email-reset-outro = Le lien est valable une heure. Si ce n'était pas vous, ignorez cet e-mail : votre mot de passe reste inchangé.
email-link-subject = Associer votre connexion { $provider } à votre compte ?
email-link-intro = Quelqu'un s'est connecté avec { $provider } en utilisant cette adresse e-mail et a demandé à s'en servir pour se connecter à votre compte. Si c'était vous, ouvrez le lien dans le même navigateur.
email-link-button = Associer { $provider }
email-link-outro = Le lien est valable 30 minutes et ne fonctionne que dans le navigateur qui en a fait la demande. Si ce n'était pas vous, ignorez cet e-mail : rien ne change.

# Les avis de sécurité.
email-security-outro = Si ce n'était pas vous, réinitialisez votre mot de passe sans attendre et prévenez-nous : quelqu'un est peut-être connecté à votre compte.
email-password-changed-subject = Votre mot de passe a été modifié
email-password-changed-intro = Le mot de passe de votre compte vient d'être modifié, et vos autres appareils ont été déconnectés.
# $name : le nom donné au facteur ; $kind : passkey ou app.
email-factor-added-subject = Un second facteur a été ajouté à votre compte
email-factor-added-intro = { $name } ({ $kind ->
        [passkey] une clé d'accès
       *[app] une application d'authentification
    }) protège désormais votre compte : ce second facteur est demandé à la connexion, après le mot de passe.
email-factor-removed-subject = Un second facteur a été retiré de votre compte
email-factor-removed-intro = { $name } ({ $kind ->
        [passkey] une clé d'accès
       *[app] une application d'authentification
    }) ne protège plus votre compte.
email-factors-reset-subject = Les seconds facteurs de votre compte ont été réinitialisés
email-factors-reset-intro = Un administrateur a supprimé tous les seconds facteurs de votre compte et déconnecté tous les appareils. Connectez-vous avec votre mot de passe, puis configurez de nouveau un second facteur.
email-recovery-code-used-subject = Un code de récupération a été utilisé
email-recovery-code-used-intro = Un code de récupération vient d'être utilisé lors d'une connexion à votre compte. Codes inutilisés restants : { $left }. Lorsqu'il en reste peu, créez-en de nouveaux depuis la page de sécurité de votre compte.
email-new-sign-in-subject = Nouvelle connexion à votre compte
# $device : le navigateur et le système en mots (en anglais : « Firefox on Linux ») ; $at : l'heure, UTC.
email-new-sign-in-intro = Une connexion à votre compte a eu lieu depuis un navigateur ou un appareil encore jamais utilisé avec ce compte : { $device }, le { $at }.
email-new-sign-in-intro-ip = Une connexion à votre compte a eu lieu depuis un navigateur ou un appareil encore jamais utilisé avec ce compte : { $device } à l'adresse IP { $ip }, le { $at }.
email-new-sign-in-unknown-device = un navigateur non reconnu
email-device-signed-out-subject = Nous avons déconnecté l'un de vos appareils
email-device-signed-out-intro = Un jeton de connexion de votre compte, déjà remplacé, a été réutilisé : il a peut-être été copié depuis l'un de vos appareils. Par précaution, nous avons mis fin à la session de cet appareil ; reconnectez-vous sur celui-ci. Si vous ne vous y attendiez pas, changez votre mot de passe et déconnectez-vous partout.
email-identity-linked-subject = { $provider } peut désormais vous connecter à votre compte
email-identity-linked-intro = Votre compte { $provider } a été associé à votre compte ici : vous pouvez désormais l'utiliser pour vous connecter.
email-identity-linked-intro-email = Votre compte { $provider } ({ $email }) a été associé à votre compte ici : vous pouvez désormais l'utiliser pour vous connecter.
email-identity-unlinked-subject = { $provider } ne peut plus vous connecter à votre compte
email-identity-unlinked-intro = Votre compte { $provider } a été dissocié de votre compte ici.

# Les parties de chaque e-mail.
# Sous le bouton, avant une forme courte de son lien.
email-fallback = Si le bouton ne fonctionne pas, ouvrez ce lien :
# La partie texte : le texte du bouton avant son lien, sur une ligne à part.
email-action = { $label } :
email-help = Aide : { $url }
