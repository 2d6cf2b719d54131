"""UI strings in English and Turkish; the language comes from the `lang` cookie or Accept-Language."""

from __future__ import annotations

from collections.abc import Callable

from app.i18n_admin import ADMIN_STRINGS
from app.i18n_away import AWAY_STRINGS
from app.i18n_mail import MAIL_STRINGS
from app.i18n_privacy import PRIVACY_STRINGS
from app.i18n_reports import REPORT_STRINGS

LANGUAGES = ("en", "tr")
DEFAULT_LANGUAGE = "en"

STRINGS: dict[str, dict[str, str]] = {
    "app.name": {"en": "Sohbet", "tr": "Sohbet"},
    "lang.switch": {"en": "Türkçe", "tr": "English"},
    "lang.label": {"en": "Language", "tr": "Dil"},
    "visitor.default_name": {"en": "Visitor", "tr": "Ziyaretçi"},
    # An unnamed visitor's label (app/services/visitor_names.py; the default name above is what older versions
    # stored, kept to recognize those visitors as unnamed). The start page's intro while support is offline.
    "visitor.label": {"en": "Visitor {number}", "tr": "Ziyaretçi {number}"},
    "start.intro_offline": {
        "en": "Tell us your name and leave your question. We will answer here as soon as we are back.",
        "tr": "Adınızı yazın ve sorunuzu bırakın. Döner dönmez buradan yanıt vereceğiz.",
    },
    "support.name": {"en": "Support", "tr": "Destek"},
    "typing.admin": {"en": "Support is typing…", "tr": "Destek yazıyor…"},
    "message.seen": {"en": "Seen", "tr": "Görüldü"},
    "support.online": {"en": "Support is online", "tr": "Destek çevrimiçi"},
    "support.offline": {
        "en": "Support is offline — leave a message",
        "tr": "Destek çevrimdışı — mesaj bırakın",
    },
    "start.title": {"en": "Chat with us", "tr": "Bize yazın"},
    "start.intro": {
        "en": "Tell us your name and ask anything. We usually answer within minutes.",
        "tr": "Adınızı yazın ve sorunuzu sorun. Genellikle birkaç dakika içinde yanıt veririz.",
    },
    "start.name_label": {"en": "Your name (optional)", "tr": "Adınız (isteğe bağlı)"},
    "start.email_label": {"en": "Your email (optional)", "tr": "E-posta adresiniz (isteğe bağlı)"},
    "start.email_hint": {
        "en": "If you leave before we answer, we can send the reply there.",
        "tr": "Biz yanıtlamadan ayrılırsanız yanıtı oraya gönderebiliriz.",
    },
    "email.label": {"en": "Get replies by email", "tr": "Yanıtları e-postayla alın"},
    "email.button": {"en": "Save", "tr": "Kaydet"},
    "email.saved": {"en": "Replies can reach you at {email}.", "tr": "Yanıtlar {email} adresine gönderilebilir."},
    "error.email_invalid": {
        "en": "That does not look like an email address (like name@example.com).",
        "tr": "Bu bir e-posta adresine benzemiyor (ör. ad@example.com).",
    },
    "error.email_missing": {"en": "Please enter your email address.", "tr": "Lütfen e-posta adresinizi girin."},
    "start.button": {"en": "Start chat", "tr": "Sohbeti başlat"},
    "start.leave_empty": {"en": "Leave this empty", "tr": "Bunu boş bırakın"},
    "error.start_again": {
        "en": "Please check your details and press Start chat again.",
        "tr": "Lütfen bilgilerinizi kontrol edip yeniden Sohbeti başlat'a basın.",
    },
    "error.start_refused": {
        "en": "This chat could not be started. Please try again.",
        "tr": "Bu sohbet başlatılamadı. Lütfen yeniden deneyin.",
    },
    "error.blocked": {"en": "This chat is not available.", "tr": "Bu sohbet kullanılamıyor."},
    "error.start_limited": {
        "en": "Too many new chats from your network. Please try again later.",
        "tr": "Ağınızdan çok fazla yeni sohbet başlatıldı. Lütfen daha sonra yeniden deneyin.",
    },
    "chat.title": {"en": "Conversation", "tr": "Sohbet"},
    "retention.notice": {"en": "Messages are deleted after {duration}.", "tr": "Mesajlar {duration} sonra silinir."},
    "unit.day": {"en": "day", "tr": "gün"},
    "unit.days": {"en": "days", "tr": "gün"},
    "unit.hour": {"en": "hour", "tr": "saat"},
    "unit.hours": {"en": "hours", "tr": "saat"},
    "unit.minute": {"en": "minute", "tr": "dakika"},
    "unit.minutes": {"en": "minutes", "tr": "dakika"},
    "unit.second": {"en": "second", "tr": "saniye"},
    "unit.seconds": {"en": "seconds", "tr": "saniye"},
    "chat.end": {"en": "End chat", "tr": "Sohbeti bitir"},
    "chat.ended_note": {"en": "The visitor ended the chat.", "tr": "Ziyaretçi sohbeti bitirdi."},
    "chat.closed_note": {
        "en": "Support closed this conversation. Write again any time.",
        "tr": "Destek bu sohbeti kapattı. İstediğiniz zaman yeniden yazabilirsiniz.",
    },
    "chat.gone": {
        "en": "This conversation was closed by support.",
        "tr": "Bu sohbet destek ekibi tarafından kapatıldı.",
    },
    "chat.ended_here": {
        "en": "You ended this conversation.",
        "tr": "Bu sohbeti sonlandırdınız.",
    },
    "chat.new": {"en": "Start a new chat", "tr": "Yeni sohbet başlat"},
    "chat.empty": {"en": "No messages yet. Say hello!", "tr": "Henüz mesaj yok. Merhaba deyin!"},
    "chat.noscript": {
        "en": "JavaScript is off: this page refreshes itself every 10 seconds.",
        "tr": "JavaScript kapalı: bu sayfa her 10 saniyede kendini yeniler.",
    },
    "messages.label": {"en": "Messages", "tr": "Mesajlar"},
    "messages.older": {"en": "Load older messages", "tr": "Daha eski mesajları yükle"},
    "messages.newest": {"en": "Back to the newest messages", "tr": "En yeni mesajlara dön"},
    "composer.label": {"en": "Message", "tr": "Mesaj"},
    "composer.placeholder": {"en": "Write a message…", "tr": "Bir mesaj yazın…"},
    "composer.send": {"en": "Send", "tr": "Gönder"},
    "composer.sending": {"en": "Sending…", "tr": "Gönderiliyor…"},
    "composer.failed": {"en": "Not sent: no connection.", "tr": "Gönderilemedi: bağlantı yok."},
    "composer.retry": {"en": "Retry", "tr": "Tekrar dene"},
    "composer.attach": {"en": "Attach an image or audio file", "tr": "Resim veya ses dosyası ekle"},
    "composer.voice_file": {"en": "Voice note", "tr": "Sesli not"},
    "composer.record": {"en": "Record a voice note", "tr": "Sesli not kaydet"},
    "composer.stop": {"en": "Stop recording", "tr": "Kaydı durdur"},
    "composer.cancel": {"en": "Cancel", "tr": "İptal"},
    "composer.remove": {"en": "Remove", "tr": "Kaldır"},
    "attachment.image": {"en": "Image", "tr": "Resim"},
    "attachment.audio": {"en": "Audio", "tr": "Ses"},
    "error.upload.empty": {"en": "That file is empty.", "tr": "Dosya boş."},
    "error.upload.type": {
        "en": "That file type is not accepted. Send a JPEG, PNG, GIF or WebP image, "
        "or MP3, WAV, OGG, WebM or M4A audio.",
        "tr": "Bu dosya türü kabul edilmiyor. JPEG, PNG, GIF veya WebP resim "
        "ya da MP3, WAV, OGG, WebM veya M4A ses gönderin.",
    },
    "error.upload.hostile": {
        "en": "That file contains markup or script and was refused.",
        "tr": "Dosya işaretleme veya betik içeriyor ve reddedildi.",
    },
    "error.upload.broken": {
        "en": "That file is damaged or not what it claims to be.",
        "tr": "Dosya bozuk veya iddia ettiği türde değil.",
    },
    "error.upload.too_large": {
        "en": "That file is too large (images up to 5 MB, audio up to 10 MB).",
        "tr": "Dosya çok büyük (resimler en fazla 5 MB, ses en fazla 10 MB).",
    },
    "error.upload.too_many_pixels": {
        "en": "That image has too many pixels (at most 16 megapixels, 4096 × 4096).",
        "tr": "Resim çok fazla piksel içeriyor (en fazla 16 megapiksel, 4096 × 4096).",
    },
    "error.upload.too_many_frames": {
        "en": "That animation is too long (at most 100 frames and 24 megapixels across its frames).",
        "tr": "Animasyon çok uzun (en fazla 100 kare ve tüm karelerde toplam 24 megapiksel).",
    },
    "error.storage_unavailable": {
        "en": "The file could not be stored right now, so nothing was sent. Your text is still here; try again in "
        "a moment.",
        "tr": "Dosya şu anda kaydedilemedi, bu yüzden hiçbir şey gönderilmedi. Yazdığınız metin duruyor; biraz "
        "sonra tekrar deneyin.",
    },
    "error.bad_client_msg_id": {
        "en": "This form is damaged (its message id is not valid). Reload the page and send again.",
        "tr": "Bu form bozuk (mesaj kimliği geçersiz). Sayfayı yenileyip tekrar gönderin.",
    },
    "error.message_empty": {"en": "Write a message first.", "tr": "Önce bir mesaj yazın."},
    "error.message_too_long": {
        "en": "That message is too long (4000 characters at most).",
        "tr": "Mesaj çok uzun (en fazla 4000 karakter).",
    },
    "error.name_too_long": {
        "en": "That name is too long (50 characters at most).",
        "tr": "Ad çok uzun (en fazla 50 karakter).",
    },
    "error.no_conversation": {
        "en": "You have no open conversation. Start one first.",
        "tr": "Açık bir sohbetiniz yok. Önce bir sohbet başlatın.",
    },
    "error.rate_limited": {
        "en": "Too many requests. Please wait a minute and try again.",
        "tr": "Çok fazla istek. Lütfen bir dakika bekleyip tekrar deneyin.",
    },
    "error.too_many_streams": {
        "en": "Too many live connections are open. Close another tab or wait a moment.",
        "tr": "Çok fazla canlı bağlantı açık. Başka bir sekmeyi kapatın veya biraz bekleyin.",
    },
    "error.csrf": {
        "en": "Your form expired. Reload the page and try again.",
        "tr": "Formun süresi doldu. Sayfayı yenileyip tekrar deneyin.",
    },
    "error.not_found": {"en": "Not found.", "tr": "Bulunamadı."},
    "error.too_large": {"en": "That request is too large.", "tr": "İstek çok büyük."},
    "error.bad_request": {"en": "That request could not be understood.", "tr": "İstek anlaşılamadı."},
    "error.server": {
        "en": "Something went wrong on our side. Nothing you sent was lost; try again.",
        "tr": "Bizim tarafımızda bir sorun oluştu. Gönderdikleriniz kaybolmadı; tekrar deneyin.",
    },
    "error.unavailable": {
        "en": "The chat cannot reach its database just now. Please try again in a moment.",
        "tr": "Sohbet şu anda veritabanına ulaşamıyor. Lütfen biraz sonra tekrar deneyin.",
    },
    "error.forbidden": {"en": "You may not do that.", "tr": "Bunu yapamazsınız."},
    "error.login_required": {"en": "Please log in first.", "tr": "Önce giriş yapın."},
    "error.title": {"en": "Something went wrong", "tr": "Bir sorun oluştu"},
    "error.back": {"en": "Go back", "tr": "Geri dön"},
    "login.title": {"en": "Admin login", "tr": "Yönetici girişi"},
    "login.username": {"en": "Username", "tr": "Kullanıcı adı"},
    "login.password": {"en": "Password", "tr": "Parola"},
    "login.submit": {"en": "Continue", "tr": "Devam"},
    "login.wrong": {"en": "Wrong username or password.", "tr": "Kullanıcı adı veya parola hatalı."},
    "login.code_title": {"en": "Enter your login code", "tr": "Giriş kodunu girin"},
    "login.code_sent": {
        "en": "We sent a 6-digit code to your admin channel. It is valid for 5 minutes.",
        "tr": "Yönetici kanalınıza 6 haneli bir kod gönderdik. Kod 5 dakika geçerlidir.",
    },
    "login.code_totp": {
        "en": "Enter the 6-digit code your authenticator app shows now.",
        "tr": "Doğrulama uygulamanızın şu an gösterdiği 6 haneli kodu girin.",
    },
    "login.code_console": {
        "en": "Development mode: the code is printed in the server console.",
        "tr": "Geliştirme modu: kod sunucu konsoluna yazıldı.",
    },
    "login.code": {"en": "6-digit code", "tr": "6 haneli kod"},
    "login.verify": {"en": "Log in", "tr": "Giriş yap"},
    "login.code_wrong": {"en": "That code is wrong. Try again.", "tr": "Kod hatalı. Tekrar deneyin."},
    "login.code_expired": {
        "en": "That code has expired or was already used. Log in again to get a new one.",
        "tr": "Kodun süresi doldu veya kullanıldı. Yeni kod için tekrar giriş yapın.",
    },
    "login.locked_out": {
        "en": "Too many failed logins. Wait a moment and try again.",
        "tr": "Çok fazla başarısız giriş. Biraz bekleyip tekrar deneyin.",
    },
    "login.code_locked": {
        "en": "Too many wrong codes. Log in again to get a new one.",
        "tr": "Çok fazla hatalı kod. Yeni kod için tekrar giriş yapın.",
    },
    "login.unavailable": {
        "en": "Login is unavailable: no channel is configured to deliver login codes "
        "(set TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID).",
        "tr": "Giriş kullanılamıyor: giriş kodlarını iletecek bir kanal yapılandırılmamış "
        "(TELEGRAM_BOT_TOKEN ve TELEGRAM_CHAT_ID ayarlayın).",
    },
    "login.code_not_delivered": {
        "en": "The login code could not be sent: Telegram is not reachable right now. Try again in a minute.",
        "tr": "Giriş kodu gönderilemedi: Telegram'a şu anda ulaşılamıyor. Bir dakika sonra tekrar deneyin.",
    },
    "login.restart": {"en": "Start over", "tr": "Baştan başla"},
    "admin.title": {"en": "Conversations", "tr": "Sohbetler"},
    "admin.older_threads": {"en": "Show older conversations", "tr": "Daha eski sohbetleri göster"},
    "admin.newest_threads": {"en": "Show the newest conversations", "tr": "En yeni sohbetleri göster"},
    "admin.logout": {"en": "Log out", "tr": "Çıkış"},
    "admin.none": {"en": "No conversations yet.", "tr": "Henüz sohbet yok."},
    "admin.pick": {"en": "Choose a conversation.", "tr": "Bir sohbet seçin."},
    "admin.unread": {"en": "unread", "tr": "okunmamış"},
    "admin.online": {"en": "online", "tr": "çevrimiçi"},
    "admin.offline": {"en": "offline", "tr": "çevrimdışı"},
    "admin.ended": {"en": "ended", "tr": "bitti"},
    "admin.clear": {"en": "Clear conversation", "tr": "Sohbeti temizle"},
    "admin.clear_all": {"en": "Delete all conversations", "tr": "Tüm sohbetleri sil"},
    "admin.clear_all_confirm": {
        "en": "Yes, delete every conversation and message",
        "tr": "Evet, tüm sohbetleri ve mesajları sil",
    },
    "admin.clear_all_needs_confirm": {
        "en": "Tick the confirmation box to delete everything.",
        "tr": "Her şeyi silmek için onay kutusunu işaretleyin.",
    },
    # Destructive actions ask first; the chat-ended page and its transcript (issue 13).
    "confirm.cancel": {"en": "Cancel", "tr": "Vazgeç"},
    "admin.clear_question": {"en": "Clear the conversation with {name}?", "tr": "{name} ile sohbet temizlensin mi?"},
    "admin.clear_detail": {
        "en": "Every message and file in it is deleted, for you and for the visitor. This cannot be undone.",
        "tr": "İçindeki tüm mesajlar ve dosyalar hem sizin hem ziyaretçi için silinir. Bu işlem geri alınamaz.",
    },
    "chat.end_question": {"en": "End this chat?", "tr": "Sohbet bitirilsin mi?"},
    "chat.end_detail": {
        "en": "You will not be able to write in this conversation any more. You can start a new chat any time.",
        "tr": "Bu sohbete artık yazamazsınız. İstediğiniz zaman yeni bir sohbet başlatabilirsiniz.",
    },
    "chat.end_keep": {"en": "Keep chatting", "tr": "Sohbete devam et"},
    "chat.ended_title": {"en": "Chat ended", "tr": "Sohbet sona erdi"},
    "transcript.title": {"en": "Your conversation", "tr": "Sohbetiniz"},
    "transcript.keep": {
        "en": "This copy is shown only now: download the transcript or print this page to keep it.",
        "tr": "Bu kopya yalnızca şimdi gösteriliyor: saklamak için dökümü indirin veya bu sayfayı yazdırın.",
    },
    "transcript.partial": {
        "en": "Only the newest {count} messages are shown.",
        "tr": "Yalnızca en yeni {count} mesaj gösteriliyor.",
    },
    # Transcripts (SPEC §9): the download, the printable page, the ended page's links, their refusals.
    "mail.test.subject": {"en": "Sohbet test mail", "tr": "Sohbet deneme e-postası"},
    "mail.test.body": {
        "en": "This is a test mail from Sohbet: mail delivery works.",
        "tr": "Bu, Sohbet'ten bir deneme e-postasıdır: e-posta gönderimi çalışıyor.",
    },
    # Replies by email (SPEC §9): the mail, the resume link's and the unsubscribe link's pages.
    "mail.replies.subject": {"en": "New reply from {site}", "tr": "{site} size yanıt verdi"},
    "mail.replies.intro": {
        "en": "You have a reply to your conversation:",
        "tr": "Sohbetinize yanıt geldi:",
    },
    "mail.replies.support": {"en": "Support", "tr": "Destek"},
    "mail.replies.file": {
        "en": "(a file: open the conversation to see it)",
        "tr": "(bir dosya: görmek için sohbeti açın)",
    },
    "mail.replies.resume": {"en": "Continue the conversation", "tr": "Sohbete devam edin"},
    "mail.replies.resume_note": {
        "en": "This link opens the conversation on any device for 30 days. Do not forward this mail.",
        "tr": "Bu bağlantı sohbeti 30 gün boyunca her cihazda açar. Bu e-postayı başkasına iletmeyin.",
    },
    "mail.replies.unsubscribe": {
        "en": "No more emails for this conversation",
        "tr": "Bu sohbet için artık e-posta gönderilmesin",
    },
    "link.forged": {
        "en": "This link is not valid. Please use the link from your email exactly as it is.",
        "tr": "Bu bağlantı geçerli değil. Lütfen e-postanızdaki bağlantıyı olduğu gibi kullanın.",
    },
    "link.expired": {
        "en": "This link has expired. You can start a new conversation.",
        "tr": "Bu bağlantının süresi doldu. Yeni bir sohbet başlatabilirsiniz.",
    },
    "link.gone": {
        "en": "This conversation has ended or no longer exists. You can start a new one.",
        "tr": "Bu sohbet sona erdi veya artık yok. Yeni bir sohbet başlatabilirsiniz.",
    },
    "link.home": {"en": "Go to the chat", "tr": "Sohbete git"},
    "unsubscribe.title": {"en": "Stop emails", "tr": "E-postaları durdur"},
    "unsubscribe.ask": {
        "en": "Stop sending emails about this conversation?",
        "tr": "Bu sohbetle ilgili e-posta gönderimi durdurulsun mu?",
    },
    "unsubscribe.button": {"en": "Stop emails", "tr": "E-postaları durdur"},
    "unsubscribe.done": {
        "en": "Done: you will get no more emails about this conversation.",
        "tr": "Tamam: bu sohbetle ilgili artık e-posta almayacaksınız.",
    },
    "transcript.heading": {"en": "Conversation with {name}", "tr": "{name} ile sohbet"},
    "transcript.started": {"en": "Started", "tr": "Başlangıç"},
    "transcript.made": {"en": "Transcript made", "tr": "Döküm tarihi"},
    "transcript.empty": {"en": "No messages.", "tr": "Mesaj yok."},
    "transcript.download": {"en": "Download the transcript", "tr": "Dökümü indir"},
    "admin.transcript": {"en": "Transcript", "tr": "Döküm"},
    "transcript.printable": {"en": "Printable page", "tr": "Yazdırılabilir sayfa"},
    "transcript.link_hour": {
        "en": "These links work for one hour.",
        "tr": "Bu bağlantılar bir saat geçerlidir.",
    },
    "error.transcript_forbidden": {
        "en": "This transcript cannot be opened here: the link is not valid, or there is no conversation.",
        "tr": "Bu döküm burada açılamıyor: bağlantı geçersiz ya da sohbet yok.",
    },
    "error.transcript_expired": {
        "en": "This transcript link has expired (links work for one hour).",
        "tr": "Bu döküm bağlantısının süresi doldu (bağlantılar bir saat geçerlidir).",
    },
    "error.transcript_gone": {
        "en": "This conversation has been deleted.",
        "tr": "Bu sohbet silinmiş.",
    },
    "error.transcript_format": {
        "en": "Unknown transcript format: use text or html.",
        "tr": "Bilinmeyen döküm biçimi: text veya html kullanın.",
    },
    "admin.reply": {"en": "Reply", "tr": "Yanıtla"},
    "admin.back": {"en": "All conversations", "tr": "Tüm sohbetler"},
    "admin.no_preview": {"en": "(no messages)", "tr": "(mesaj yok)"},
    "admin.mail_failing": {
        "en": "{count} email(s) to visitors could not be sent yet; retrying. Check /health.",
        "tr": "Ziyaretçilere {count} e-posta henüz gönderilemedi; yeniden deneniyor. /health sayfasına bakın.",
    },
    "admin.telegram_backlog": {
        "en": "{count} visitor message(s) could not be delivered to Telegram yet; retrying. Check /health.",
        "tr": "{count} ziyaretçi mesajı henüz Telegram'a iletilemedi; yeniden deneniyor. /health sayfasına bakın.",
    },
    "admin.sound": {"en": "Sound on new messages", "tr": "Yeni mesajda ses"},
    # The embeddable widget (issue 6).
    "admin.embed": {"en": "Embed", "tr": "Siteye ekle"},
    "admin.source": {"en": "Page", "tr": "Sayfa"},
    "admin.visitor_email": {"en": "Email", "tr": "E-posta"},
    "admin.referrer": {"en": "came from", "tr": "geldiği yer"},
    "embed.title": {"en": "Put the chat on your website", "tr": "Sohbeti web sitenize ekleyin"},
    "embed.intro": {
        "en": "Paste this where the chat link should be, on every page of your site. Without JavaScript it is a "
        "plain link to the chat; with it, a chat button in the corner that opens the chat in a panel.",
        "tr": "Bunu sitenizin her sayfasında sohbet bağlantısının olacağı yere yapıştırın. JavaScript yoksa "
        "sohbete giden düz bir bağlantıdır; varsa köşede sohbeti bir panelde açan bir düğmedir.",
    },
    "embed.snippet": {"en": "Snippet", "tr": "Kod parçası"},
    "embed.copy": {"en": "Copy", "tr": "Kopyala"},
    "embed.copied": {"en": "Copied", "tr": "Kopyalandı"},
    "embed.copy_failed": {"en": "Select the text and copy it", "tr": "Metni seçip kopyalayın"},
    "embed.link_text": {"en": "Chat with us", "tr": "Bize yazın"},
    "embed.options": {
        "en": 'Options on the link: data-position="left" (default right), data-color="#0b5cad", '
        'data-lang="tr" (en or tr), data-greeting="Questions? We are here."',
        "tr": 'Bağlantıdaki seçenekler: data-position="left" (varsayılan sağ), data-color="#0b5cad", '
        'data-lang="tr" (en veya tr), data-greeting="Sorunuz mu var? Buradayız."',
    },
    "embed.origins": {
        "en": "Sites allowed to embed the chat:",
        "tr": "Sohbeti gömmesine izin verilen siteler:",
    },
    "embed.no_origins": {
        "en": "None yet: add your site (e.g. https://shop.example.com) in the settings; until then the button "
        "on your site opens the chat in a new window.",
        "tr": "Henüz yok: sitenizi (ör. https://shop.example.com) ayarlara ekleyin; o zamana kadar sitenizdeki "
        "düğme sohbeti yeni pencerede açar.",
    },
    "embed.https": {
        "en": "The chat must be served over https for the panel to keep its cookie inside your site; otherwise the "
        "button opens the chat in a new window.",
        "tr": "Panelin çerezini sitenizde tutabilmesi için sohbet https üzerinden sunulmalıdır; aksi halde düğme "
        "sohbeti yeni pencerede açar.",
    },
    "embed.edit_origins": {"en": "Change them in the settings", "tr": "Ayarlardan değiştirin"},
    "embed.demo": {"en": "Try it on the demo page", "tr": "Deneme sayfasında deneyin"},
    "embed.blocked": {
        "en": "Your browser does not allow the chat to keep you signed in inside this site.",
        "tr": "Tarayıcınız sohbetin bu sitenin içinde oturumunuzu tutmasına izin vermiyor.",
    },
    "embed.open_window": {"en": "Open the chat in a new window", "tr": "Sohbeti yeni pencerede açın"},
    "error.embed_forbidden": {
        "en": "This site is not allowed to show the chat.",
        "tr": "Bu sitenin sohbeti göstermesine izin verilmiyor.",
    },
    # The team (SPEC §8): the owner's page, each agent's own page, invites, the password rules.
    "login.no_code_channel": {
        "en": "Your account has no way to receive a login code on this server yet. Ask an owner.",
        "tr": "Hesabınızın bu sunucuda giriş kodu alabileceği bir yol henüz yok. Bir sahibe danışın.",
    },
    "status.open": {"en": "Open", "tr": "Açık"},
    "status.snoozed": {"en": "Snoozed", "tr": "Ertelendi"},
    "status.resolved": {"en": "Resolved", "tr": "Çözüldü"},
    "views.label": {"en": "Which conversations", "tr": "Hangi sohbetler"},
    "views.all": {"en": "All", "tr": "Tümü"},
    "views.mine": {"en": "Mine", "tr": "Benim"},
    "views.unassigned": {"en": "Unassigned", "tr": "Atanmamış"},
    "triage.status": {"en": "Status", "tr": "Durum"},
    "triage.until": {
        "en": "Snooze for (2h, 1d) or until (2026-12-24T09:00)",
        "tr": "Erteleme süresi ya da zamanı (2h, 1d, 2026-12-24T09:00)",
    },
    "triage.assignee": {"en": "Assigned to", "tr": "Atanan"},
    "triage.nobody": {"en": "Nobody", "tr": "Kimse"},
    "triage.me": {"en": "Me", "tr": "Ben"},
    "triage.apply": {"en": "Save", "tr": "Kaydet"},
    "triage.until_short": {"en": "until {time}", "tr": "{time} saatine kadar"},
    "error.bad_status": {
        "en": "Status must be open, snoozed or resolved.",
        "tr": "Durum açık, ertelendi ya da çözüldü olmalı.",
    },
    "error.bad_view": {
        "en": "View must be all, mine or unassigned.",
        "tr": "Görünüm tümü, benim ya da atanmamış olmalı.",
    },
    "error.snooze_until": {
        "en": "A snooze needs a time in the next year: a duration like 30m, 2h or 1d, or a date and time like "
        "2026-12-24T09:00 (and only a snooze takes one).",
        "tr": "Erteleme önümüzdeki bir yıl içinde bir zaman ister: 30m, 2h ya da 1d gibi bir süre veya "
        "2026-12-24T09:00 gibi bir tarih ve saat (ve yalnızca erteleme zaman alır).",
    },
    "error.unknown_agent": {
        "en": "There is no enabled agent with that username.",
        "tr": "Bu kullanıcı adıyla etkin bir temsilci yok.",
    },
    **ADMIN_STRINGS,
    **MAIL_STRINGS,
    **REPORT_STRINGS,
    **AWAY_STRINGS,
    **PRIVACY_STRINGS,
}


def pick_language(cookie: str | None, accept_language: str | None) -> str:
    if cookie in LANGUAGES:
        return cookie
    best, best_q = DEFAULT_LANGUAGE, -1.0
    for index, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        quality -= index * 1e-6  # earlier wins on ties
        if primary in LANGUAGES and quality > best_q:
            best, best_q = primary, quality
    return best


def translator(language: str) -> Callable[[str], str]:
    def translate(key: str) -> str:
        entry = STRINGS.get(key)
        if entry is None:
            return key
        return entry.get(language) or entry[DEFAULT_LANGUAGE]

    return translate
