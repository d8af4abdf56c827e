# La mise en page, les pages communes à tous les parcours et la page de connexion.
# Les messages peuvent contenir du balisage (<strong>) ; les arguments sont échappés avant d'y être placés.

help = Aide
request-id = Identifiant de la requête
continue = Continuer
continue-with = Continuer avec { $provider }
or = ou
password = Mot de passe
show-password = Afficher le mot de passe
go-to-start = Aller à l'accueil
form-post-body = Nous vous ramenons à l'application.

home-title = Service de connexion
home-body = Ceci est le service de connexion de { $brand }. Les applications vous envoient ici pour vous connecter ; vous pouvez aussi y gérer la façon dont vous vous connectez.
home-security-link = La sécurité de votre connexion
not-found-title = Page introuvable
not-found-body = Il n'y a pas de page à cette adresse. Elle a peut-être été déplacée, ou le lien a été tronqué.
form-only-title = Cette page ne peut pas être ouverte directement
form-only-body = Elle ne s'ouvre qu'à l'envoi d'un formulaire. Revenez au formulaire et envoyez-le de nouveau.

sign-in = Se connecter
sign-in-lead-client = pour continuer vers <strong>{ $client }</strong>
sign-in-lead-security = pour accéder à la sécurité de votre compte
sign-in-unverified = Votre adresse e-mail n'est pas encore confirmée.
sign-in-resend = Renvoyer le lien
sign-in-identifier = E-mail, téléphone ou nom d'utilisateur
forgot-password-link = Mot de passe oublié ?
sign-in-passkey = Se connecter avec une clé d'accès
sign-in-other-ways = Autres façons de se connecter
sign-in-no-account = Pas encore de compte ?
sign-in-create-account = En créer un

# Un message d'un flux que le catalogue n'a pas (jamais attendu : voir pages::flow_message).
flow-message = { $message }
