"""The strings of the team's own pages (the team, an agent's account, the invite link, the workspace settings),
in every language of app/i18n.py, which merges them into its one table; kept apart so that table stays readable."""

ADMIN_STRINGS: dict[str, dict[str, str]] = {
    "settings.title": {"en": "Settings", "tr": "Ayarlar"},
    "settings.saved": {"en": "Settings saved.", "tr": "Ayarlar kaydedildi."},
    "settings.not_saved": {
        "en": "Nothing was saved: correct the fields marked below.",
        "tr": "Hiçbir şey kaydedilmedi: aşağıda işaretli alanları düzeltin.",
    },
    "settings.save": {"en": "Save settings", "tr": "Ayarları kaydet"},
    "settings.site_name": {"en": "Site name", "tr": "Site adı"},
    "settings.site_name_invalid": {
        "en": "At most {max} characters, on one line.",
        "tr": "Tek satırda en fazla {max} karakter.",
    },
    "settings.logo": {"en": "Logo", "tr": "Logo"},
    "settings.logo_now": {"en": "Current logo", "tr": "Şu anki logo"},
    "settings.logo_remove": {"en": "Remove the logo", "tr": "Logoyu kaldır"},
    "settings.logo_hint": {
        "en": "PNG, JPEG, GIF or WebP, up to 512 KB. Shown on the chat page and in the widget.",
        "tr": "PNG, JPEG, GIF veya WebP, en fazla 512 KB. Sohbet sayfasında ve pencerede gösterilir.",
    },
    "settings.accent": {"en": "Accent colour", "tr": "Vurgu rengi"},
    "settings.accent_hint": {
        "en": "A hex colour such as #0b5cad. White text on it must stay readable (WCAG AA, 4.5:1).",
        "tr": "#0b5cad gibi bir onaltılık renk. Üzerindeki beyaz yazı okunur kalmalı (WCAG AA, 4.5:1).",
    },
    "settings.accent_invalid": {
        "en": "Write the colour as # and six hex digits, e.g. #0b5cad.",
        "tr": "Rengi # ve altı onaltılık rakamla yazın, ör. #0b5cad.",
    },
    "settings.accent_text_contrast": {
        "en": "Too light: white text on this colour has a contrast of {ratio}:1, at least 4.5:1 is needed. "
        "Choose a darker colour.",
        "tr": "Çok açık: bu renk üzerindeki beyaz yazının kontrastı {ratio}:1, en az 4.5:1 gerekir. "
        "Daha koyu bir renk seçin.",
    },
    "settings.accent_page_contrast": {
        "en": "Links in this colour on the page background have a contrast of {ratio}:1, at least 4.5:1 is "
        "needed. Choose a darker colour.",
        "tr": "Bu renkteki bağlantıların sayfa zeminindeki kontrastı {ratio}:1, en az 4.5:1 gerekir. "
        "Daha koyu bir renk seçin.",
    },
    "settings.greeting": {"en": "Greeting", "tr": "Karşılama"},
    "settings.greeting_invalid": {
        "en": "At most {max} characters, on one line.",
        "tr": "Tek satırda en fazla {max} karakter.",
    },
    "settings.embed_origins": {"en": "Sites allowed to embed the chat", "tr": "Sohbeti gömebilecek siteler"},
    "settings.embed_origins_hint": {
        "en": "One address a line, e.g. https://shop.example.com (no path). Applies at once, no restart.",
        "tr": "Her satıra bir adres, ör. https://shop.example.com (yol olmadan). Hemen geçerli olur, yeniden "
        "başlatma gerekmez.",
    },
    "settings.origin_invalid": {
        "en": "{origin} is not a site address like https://shop.example.com.",
        "tr": "{origin} https://shop.example.com gibi bir site adresi değil.",
    },
    "settings.origin_https": {
        "en": "{origin}: only https:// sites may embed the chat in production.",
        "tr": "{origin}: üretimde sohbeti yalnızca https:// siteler gömebilir.",
    },
    "settings.origins_too_many": {"en": "At most {count} sites.", "tr": "En fazla {count} site."},
    "team.title": {"en": "Team", "tr": "Ekip"},
    "team.display_name": {"en": "Display name", "tr": "Görünen ad"},
    "team.role": {"en": "Role", "tr": "Rol"},
    "team.role_owner": {"en": "Owner", "tr": "Sahip"},
    "team.role_agent": {"en": "Agent", "tr": "Temsilci"},
    "team.state": {"en": "State", "tr": "Durum"},
    "team.actions": {"en": "Actions", "tr": "İşlemler"},
    "team.active": {"en": "Active", "tr": "Etkin"},
    "team.invited": {"en": "Invited", "tr": "Davet edildi"},
    "team.disabled": {"en": "Disabled", "tr": "Devre dışı"},
    "team.change_role": {"en": "Change role", "tr": "Rolü değiştir"},
    "team.enable": {"en": "Enable", "tr": "Etkinleştir"},
    "team.disable": {"en": "Disable", "tr": "Devre dışı bırak"},
    "team.reset": {"en": "Reset password", "tr": "Parolayı sıfırla"},
    "team.add": {"en": "Invite an agent", "tr": "Temsilci davet et"},
    "team.add_submit": {"en": "Create the invite link", "tr": "Davet bağlantısı oluştur"},
    "team.username_hint": {
        "en": "3 to 40 characters: lowercase letters, digits, dot, dash, underscore.",
        "tr": "3 ile 40 karakter: küçük harf, rakam, nokta, tire, alt çizgi.",
    },
    "team.invite_title": {"en": "Invite link for {name}", "tr": "{name} için davet bağlantısı"},
    "team.invite_hint": {
        "en": "Send this link to the agent: it works once, for 72 hours, and is shown only now.",
        "tr": "Bu bağlantıyı temsilciye gönderin: bir kez ve 72 saat geçerlidir, yalnızca şimdi gösterilir.",
    },
    "team.unknown": {"en": "No such agent.", "tr": "Böyle bir temsilci yok."},
    "team.bad_username": {
        "en": "The username must be 3 to 40 characters of a-z, 0-9, dot, dash or underscore.",
        "tr": "Kullanıcı adı a-z, 0-9, nokta, tire veya alt çizgiden oluşan 3 ile 40 karakter olmalıdır.",
    },
    "team.bad_role": {"en": "The role must be owner or agent.", "tr": "Rol sahip ya da temsilci olmalıdır."},
    "team.bad_display_name": {
        "en": "The display name must be 1 to 50 characters.",
        "tr": "Görünen ad 1 ile 50 karakter arasında olmalıdır.",
    },
    "team.taken": {"en": "That username is taken.", "tr": "Bu kullanıcı adı alınmış."},
    "team.last_owner": {
        "en": "The last enabled owner cannot be disabled, demoted or reset: make another owner first.",
        "tr": "Son etkin sahip devre dışı bırakılamaz, rolü düşürülemez ya da sıfırlanamaz: önce başka bir sahip "
        "ekleyin.",
    },
    "me.title": {"en": "Your account", "tr": "Hesabınız"},
    "me.display_name_hint": {
        "en": "The name visitors see on your replies",
        "tr": "Ziyaretçilerin yanıtlarınızda gördüğü ad",
    },
    "me.save": {"en": "Save", "tr": "Kaydet"},
    "me.password": {"en": "Password", "tr": "Parola"},
    "me.current_password": {"en": "Current password", "tr": "Mevcut parola"},
    "me.new_password": {"en": "New password", "tr": "Yeni parola"},
    "me.change_password": {"en": "Change password", "tr": "Parolayı değiştir"},
    "me.password_logout": {
        "en": "Every session of yours ends, this one too: you log in again.",
        "tr": "Bu dahil tüm oturumlarınız kapanır: yeniden giriş yaparsınız.",
    },
    "me.totp": {"en": "Authenticator app (TOTP)", "tr": "Doğrulama uygulaması (TOTP)"},
    "me.totp_on": {
        "en": "On: at login you enter the 6-digit code from your authenticator app.",
        "tr": "Açık: girişte doğrulama uygulamanızdaki 6 haneli kodu girersiniz.",
    },
    "me.totp_off": {
        "en": "Off. Set it up to log in with a code from an authenticator app.",
        "tr": "Kapalı. Doğrulama uygulamasından bir kodla giriş yapmak için kurun.",
    },
    "me.totp_start": {"en": "Set up", "tr": "Kur"},
    "me.totp_scan": {
        "en": "Scan this QR code with your authenticator app (or type the secret), then enter the code it shows.",
        "tr": "Bu QR kodunu doğrulama uygulamanızla tarayın ya da anahtarı elle girin, sonra gösterdiği kodu yazın.",
    },
    "me.totp_secret": {"en": "Secret", "tr": "Gizli anahtar"},
    "me.totp_confirm": {"en": "Turn on", "tr": "Aç"},
    "me.totp_disable": {"en": "Turn off", "tr": "Kapat"},
    "me.totp_wrong": {
        "en": "That code does not match. Check the time on your phone and type the current code.",
        "tr": "Kod eşleşmiyor. Telefonunuzun saatini kontrol edip güncel kodu yazın.",
    },
    "me.totp_already": {
        "en": "The authenticator app is already on. Turn it off first.",
        "tr": "Doğrulama uygulaması zaten açık. Önce kapatın.",
    },
    "me.wrong_password": {"en": "The current password is wrong.", "tr": "Mevcut parola yanlış."},
    "me.telegram": {"en": "Telegram", "tr": "Telegram"},
    "me.telegram_off": {
        "en": "Telegram is not set up on this server (TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID), so no account can be "
        "linked.",
        "tr": "Bu sunucuda Telegram kurulu değil (TELEGRAM_BOT_TOKEN ve TELEGRAM_CHAT_ID), bu yüzden hesap bağlanamaz.",
    },
    "me.telegram_intro": {
        "en": "Link your own Telegram account: your login codes come to it (unless you use an authenticator app), "
        "your replies in the support chat are signed with your name, and you can use /assign, /resolve and /snooze "
        "there.",
        "tr": "Kendi Telegram hesabınızı bağlayın: giriş kodlarınız ona gelir (doğrulama uygulaması kullanmıyorsanız), "
        "destek sohbetindeki yanıtlarınız adınızla imzalanır ve orada /assign, /resolve ve /snooze "
        "kullanabilirsiniz.",
    },
    "me.telegram_linked": {
        "en": "Linked: login codes (unless you use an authenticator app) and your replies from Telegram go through "
        "your account.",
        "tr": "Bağlı: giriş kodları (doğrulama uygulaması kullanmıyorsanız) ve Telegram'dan yanıtlarınız hesabınız "
        "üzerinden gider.",
    },
    "me.telegram_start": {"en": "Link Telegram", "tr": "Telegram'ı bağla"},
    "me.telegram_relink": {"en": "Link another account", "tr": "Başka bir hesap bağla"},
    "me.telegram_unlink": {"en": "Unlink", "tr": "Bağlantıyı kaldır"},
    "me.telegram_open": {
        "en": "Open this link on the device with your Telegram account and press Start. It works once, for an hour.",
        "tr": "Bu bağlantıyı Telegram hesabınızın olduğu cihazda açıp Başlat'a basın. Bir kez ve bir saat "
        "boyunca geçerlidir.",
    },
    "me.telegram_unreachable": {
        "en": "Telegram did not answer. Try again in a moment.",
        "tr": "Telegram yanıt vermedi. Biraz sonra tekrar deneyin.",
    },
    "password.rules": {
        "en": "At least 12 characters, and not a commonly used password.",
        "tr": "En az 12 karakter ve yaygın kullanılan bir parola olmamalı.",
    },
    "password.short": {
        "en": "The password must be at least 12 characters.",
        "tr": "Parola en az 12 karakter olmalıdır.",
    },
    "password.long": {
        "en": "The password must be at most 200 characters.",
        "tr": "Parola en fazla 200 karakter olabilir.",
    },
    "password.common": {
        "en": "This password is one of the most common ones: choose another.",
        "tr": "Bu parola en yaygın parolalardan biri: başka bir parola seçin.",
    },
    "invite.title": {"en": "Set your password", "tr": "Parolanızı belirleyin"},
    "invite.intro": {
        "en": "Welcome, {name}. Your username is {username}.",
        "tr": "Hoş geldiniz, {name}. Kullanıcı adınız {username}.",
    },
    "invite.password": {"en": "New password", "tr": "Yeni parola"},
    "invite.submit": {"en": "Set the password", "tr": "Parolayı belirle"},
    "invite.done_title": {"en": "Password set", "tr": "Parola belirlendi"},
    "invite.totp_offer": {
        "en": "You may now set up an authenticator app: it gives the code asked for at each login.",
        "tr": "Şimdi bir doğrulama uygulaması kurabilirsiniz: her girişte istenen kodu o verir.",
    },
    "invite.totp_skip": {"en": "Skip, go to login", "tr": "Atla, girişe git"},
    "invite.done": {
        "en": "You can now log in as {username}.",
        "tr": "Artık {username} olarak giriş yapabilirsiniz.",
    },
    "invite.gone_title": {"en": "This invite link no longer works", "tr": "Bu davet bağlantısı artık geçerli değil"},
    "invite.gone": {
        "en": "It was already used or it expired (links work for 72 hours). Ask an owner for a new one.",
        "tr": "Daha önce kullanılmış ya da süresi dolmuş (bağlantılar 72 saat geçerlidir). Bir sahipten yenisini "
        "isteyin.",
    },
    "audit.title": {"en": "Audit log", "tr": "Denetim kaydı"},
    "audit.intro": {
        "en": "Logins, team changes, clears and settings changes of the last 180 days. Never message text or secrets.",
        "tr": "Son 180 günün girişleri, ekip değişiklikleri, silmeleri ve ayar değişiklikleri. Mesaj metni ya da "
        "gizli bilgi asla.",
    },
    "audit.action": {"en": "Action", "tr": "İşlem"},
    "audit.all": {"en": "All actions", "tr": "Tüm işlemler"},
    "audit.filter": {"en": "Show", "tr": "Göster"},
    "audit.time": {"en": "Time", "tr": "Zaman"},
    "audit.actor": {"en": "By", "tr": "Yapan"},
    "audit.ip": {"en": "IP address", "tr": "IP adresi"},
    "audit.target": {"en": "Target", "tr": "Hedef"},
    "audit.details": {"en": "Details", "tr": "Ayrıntılar"},
    "audit.empty": {"en": "Nothing recorded yet.", "tr": "Henüz kayıt yok."},
    "audit.older": {"en": "Older entries", "tr": "Daha eski kayıtlar"},
    "audit.login.success": {"en": "Login", "tr": "Giriş"},
    "audit.login.failed": {"en": "Failed login", "tr": "Başarısız giriş"},
    "audit.team.created": {"en": "Agent invited", "tr": "Temsilci davet edildi"},
    "audit.team.disabled": {"en": "Agent disabled", "tr": "Temsilci devre dışı bırakıldı"},
    "audit.team.enabled": {"en": "Agent enabled", "tr": "Temsilci etkinleştirildi"},
    "audit.team.reset": {"en": "Password reset", "tr": "Parola sıfırlandı"},
    "audit.team.role": {"en": "Role changed", "tr": "Rol değişti"},
    "audit.team.password_changed": {"en": "Password changed", "tr": "Parola değişti"},
    "audit.team.invite_accepted": {"en": "Invite accepted", "tr": "Davet kabul edildi"},
    "audit.team.telegram_linked": {"en": "Telegram account linked", "tr": "Telegram hesabı bağlandı"},
    "audit.team.telegram_unlinked": {
        "en": "Telegram account unlinked",
        "tr": "Telegram hesabının bağlantısı kaldırıldı",
    },
    "audit.conversation.cleared": {"en": "Conversation cleared", "tr": "Konuşma silindi"},
    "audit.conversation.cleared_all": {"en": "All conversations cleared", "tr": "Tüm konuşmalar silindi"},
    "audit.settings.saved": {"en": "Settings changed", "tr": "Ayarlar değişti"},
    "audit.visitor.blocked": {"en": "Visitor blocked", "tr": "Ziyaretçi engellendi"},
    "audit.visitor.unblocked": {"en": "Visitor unblocked", "tr": "Ziyaretçi engeli kaldırıldı"},
    # Blocking (SPEC §11)
    "blocks.title": {"en": "Blocked visitors", "tr": "Engellenen ziyaretçiler"},
    "blocks.intro": {
        "en": "Blocked visitors and addresses cannot start or continue a chat; they see a neutral message.",
        "tr": "Engellenen ziyaretçiler ve adresler sohbet başlatamaz ve sürdüremez; tarafsız bir mesaj görürler.",
    },
    "blocks.block": {"en": "Block visitor", "tr": "Ziyaretçiyi engelle"},
    "blocks.block_button": {"en": "Block", "tr": "Engelle"},
    "blocks.blocked": {"en": "Blocked", "tr": "Engelli"},
    "blocks.until": {"en": "until {time}", "tr": "{time} saatine kadar"},
    "blocks.unblock": {"en": "Unblock", "tr": "Engeli kaldır"},
    "blocks.reason": {"en": "Reason", "tr": "Neden"},
    "blocks.duration": {"en": "For", "tr": "Süre"},
    "blocks.for_24h": {"en": "24 hours", "tr": "24 saat"},
    "blocks.for_7d": {"en": "7 days", "tr": "7 gün"},
    "blocks.for_30d": {"en": "30 days", "tr": "30 gün"},
    "blocks.for_forever": {"en": "Until unblocked", "tr": "Engel kaldırılana kadar"},
    "blocks.who": {"en": "Who", "tr": "Kim"},
    "blocks.ends": {"en": "Ends", "tr": "Bitiş"},
    "blocks.visitor": {"en": "A visitor", "tr": "Bir ziyaretçi"},
    "blocks.visitor_of": {"en": "Visitor of conversation {number}", "tr": "{number} numaralı konuşmanın ziyaretçisi"},
    "blocks.empty": {"en": "Nobody is blocked.", "tr": "Engellenen kimse yok."},
    "blocks.add": {"en": "Block an address or a range", "tr": "Bir adresi ya da aralığı engelle"},
    "blocks.network": {"en": "Address or range", "tr": "Adres ya da aralık"},
    "blocks.network_hint": {
        "en": "An IP address (203.0.113.7) or a range in CIDR form (203.0.113.0/24, 2001:db8::/32).",
        "tr": "Bir IP adresi (203.0.113.7) ya da CIDR biçiminde bir aralık (203.0.113.0/24, 2001:db8::/32).",
    },
    "error.block_duration": {
        "en": "Choose how long: 24h, 7d, 30d or forever (at most a year).",
        "tr": "Süreyi seçin: 24h, 7d, 30d ya da forever (en fazla bir yıl).",
    },
    "error.block_network": {
        "en": "That is not an IP address or a CIDR range (like 203.0.113.0/24).",
        "tr": "Bu bir IP adresi ya da CIDR aralığı değil (ör. 203.0.113.0/24).",
    },
    # Per-agent availability (SPEC §8: online | away)
    "availability.online": {"en": "Online", "tr": "Çevrimiçi"},
    "availability.away": {"en": "Away", "tr": "Uzakta"},
    "availability.go_away": {"en": "Set away", "tr": "Uzakta yap"},
    "availability.go_online": {"en": "Set online", "tr": "Çevrimiçi yap"},
    "availability.team": {"en": "Agents on a dashboard", "tr": "Paneldeki temsilciler"},
    "error.bad_availability": {
        "en": "Availability must be online or away.",
        "tr": "Durum çevrimiçi ya da uzakta olmalı.",
    },
    "search.title": {"en": "Search", "tr": "Arama"},
    "search.label": {"en": "Search conversations", "tr": "Görüşmelerde ara"},
    "search.placeholder": {"en": "Search", "tr": "Ara"},
    "search.submit": {"en": "Search", "tr": "Ara"},
    "search.hint": {
        "en": "Finds the conversations holding every word, in their messages (notes too), the visitor's name or "
        "email. Upper or lower case and accents do not matter; words of one letter are left out.",
        "tr": "Her kelimeyi mesajlarında (notlar dahil), ziyaretçinin adında ya da e-postasında içeren görüşmeleri "
        "bulur. Büyük-küçük harf ve aksanlar fark etmez; tek harflik kelimeler aranmaz.",
    },
    "search.count": {"en": "Conversations found for “{q}”: {count}", "tr": "“{q}” için bulunan görüşmeler: {count}"},
    "error.search_empty": {
        "en": "Type at least one word of two letters or more.",
        "tr": "En az iki harfli bir kelime yazın.",
    },
    "canned.title": {"en": "Canned replies", "tr": "Hazır yanıtlar"},
    "canned.intro": {
        "en": "Replies you send often. In a conversation, type / and the shortcut, or pick one beside the message "
        "box. {name} becomes the visitor's name when it is sent.",
        "tr": "Sık gönderdiğiniz yanıtlar. Bir konuşmada / ve kısayolu yazın ya da mesaj kutusunun yanından "
        "seçin. {name} gönderilirken ziyaretçinin adına dönüşür.",
    },
    "canned.shortcut": {"en": "Shortcut", "tr": "Kısayol"},
    "canned.shortcut_hint": {
        "en": "1 to 30 lowercase letters, digits, - or _. Saving an existing shortcut replaces its text.",
        "tr": "1 ile 30 arası küçük harf, rakam, - ya da _. Var olan bir kısayolu kaydetmek metnini değiştirir.",
    },
    "canned.text": {"en": "Text", "tr": "Metin"},
    "canned.text_hint": {
        "en": "Up to 2000 characters; {name} is replaced by the visitor's name.",
        "tr": "En fazla 2000 karakter; {name} ziyaretçinin adıyla değiştirilir.",
    },
    "canned.by": {"en": "Saved by", "tr": "Kaydeden"},
    "canned.add": {"en": "Add or change a reply", "tr": "Yanıt ekle ya da değiştir"},
    "canned.save": {"en": "Save", "tr": "Kaydet"},
    "canned.delete": {"en": "Delete", "tr": "Sil"},
    "canned.empty": {"en": "No canned replies yet.", "tr": "Henüz hazır yanıt yok."},
    "canned.insert": {"en": "Canned reply", "tr": "Hazır yanıt"},
    "error.canned.bad_shortcut": {
        "en": "The shortcut must be 1 to 30 lowercase letters, digits, - or _.",
        "tr": "Kısayol 1 ile 30 arası küçük harf, rakam, - ya da _ olmalı.",
    },
    "error.canned.empty": {"en": "Write the reply's text.", "tr": "Yanıtın metnini yazın."},
    "error.canned.too_long": {
        "en": "A canned reply can be at most 2000 characters.",
        "tr": "Hazır yanıt en fazla 2000 karakter olabilir.",
    },
    "error.canned.unknown": {
        "en": "That canned reply no longer exists; nothing was sent.",
        "tr": "Bu hazır yanıt artık yok; hiçbir şey gönderilmedi.",
    },
    "note.kind": {"en": "Send as", "tr": "Gönderim türü"},
    "note.kind_reply": {"en": "Reply", "tr": "Yanıt"},
    "note.kind_note": {"en": "Private note", "tr": "Özel not"},
    "note.name": {"en": "Note", "tr": "Not"},
    "note.hint": {"en": "Only agents see this.", "tr": "Bunu yalnızca temsilciler görür."},
    "error.note_kind": {"en": "Choose a reply or a private note.", "tr": "Yanıt ya da özel not seçin."},
    "labels.title": {"en": "Labels", "tr": "Etiketler"},
    "labels.new": {"en": "New label", "tr": "Yeni etiket"},
    "labels.add": {"en": "Add", "tr": "Ekle"},
    "labels.remove": {"en": "Remove label {label}", "tr": "{label} etiketini kaldır"},
    "labels.filter": {"en": "Label: {label}", "tr": "Etiket: {label}"},
    "labels.clear_filter": {"en": "Show all labels", "tr": "Tüm etiketleri göster"},
    "error.label.bad": {
        "en": "A label is 1 to 30 letters, digits, - or _.",
        "tr": "Etiket 1 ile 30 arası harf, rakam, - ya da _ olmalı.",
    },
    "error.label.too_many": {
        "en": "A conversation can have at most 20 labels.",
        "tr": "Bir görüşmenin en fazla 20 etiketi olabilir.",
    },
    "error.label.action": {"en": "Choose add or remove.", "tr": "Ekle ya da kaldır seçin."},
    "typing.visitor": {"en": "The visitor is typing…", "tr": "Ziyaretçi yazıyor…"},
    "typing.draft": {"en": "Draft", "tr": "Taslak"},
}
