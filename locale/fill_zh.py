# ruff: noqa: E501 - a table of sentences, one per line
"""Fill the Chinese catalogs' empty msgstr from ZH (run after makemessages; then compilemessages)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

ZH = {
    # pages and forms
    "Title": "标题",
    "Left empty, the story's first line is used.": "留空则用故事的第一行。",
    "Story": "故事",
    "Up to {} characters.": "最多 {} 个字符。",
    "…or a .txt file": "……或一个 .txt 文件",
    "UTF-8 text, up to {} characters.": "UTF-8 文本，最多 {} 个字符。",
    "Style": "风格",
    "Aspect ratio": "画面比例",
    "Resolution": "分辨率",
    "Shots": "镜头",
    "Voice": "声音",
    "Left empty, the voice follows the language; else a voice installed here (GET /api/v1/voices).": "留空则按故事的语言选择声音；否则填写本机已安装的声音（GET /api/v1/voices）。",
    "Render the film when the shots are ready": "镜头全部就绪后自动合成影片",
    "The file is too large for a story of %(limit)s characters.": "文件太大，故事最多 %(limit)s 个字符。",
    "The file is not UTF-8 text.": "文件不是 UTF-8 文本。",
    "Paste a story or choose a .txt file.": "请粘贴故事或选择一个 .txt 文件。",
    "The story has %(length)s characters; a film takes at most %(limit)s. Nothing was cut: shorten it by %(over)s characters or make two films of it.": "故事有 %(length)s 个字符，一部影片最多 %(limit)s 个。没有删掉任何内容：请删减 %(over)s 个字符，或分成两部影片。",
    "Draft": "草稿",
    "Writing the storyboard": "正在编写分镜",
    "Generating shots": "正在生成镜头",
    "Ready": "就绪",
    "Rendering": "正在合成",
    "Rendered": "已合成",
    "Failed": "失败",
    "Film (MP4)": "影片（MP4）",
    "Poster (JPEG)": "海报（JPEG）",
    "Subtitles (SRT)": "字幕（SRT）",
    "Subtitles (WebVTT)": "字幕（WebVTT）",
    "Timeline (OpenTimelineIO)": "时间线（OpenTimelineIO）",
    "Timeline (FCP XML)": "时间线（FCP XML）",
    "Timeline (EDL)": "时间线（EDL）",
    "Everything (bundle)": "全部（打包）",
    "Made “%(title)s”.": "已创建“%(title)s”。",
    "Deleted “%(title)s”.": "已删除“%(title)s”。",
    "Admin": "管理",
    "Queues": "队列",
    "Sign out": "退出",
    "Sign in": "登录",
    "Language": "语言",
    "Switch": "切换",
    "Render film": "合成影片",
    "Preview & download": "预览与下载",
    "Draft back ends made part of this film, where the real models could not run:": "以下部分由草稿后端代替真实模型生成（真实模型无法在此运行）：",
    "Get the real ones with <code>python manage.py fetch_models</code> where the network is reachable, then regenerate.": "在能联网的地方运行 <code>python manage.py fetch_models</code> 获取真实模型，然后重新生成。",
    "Film settings": "影片设置",
    "Shape": "画幅",
    "Size": "尺寸",
    "Narrator's voice": "旁白声音",
    "Follows the story's language": "按故事的语言",
    "Animate every picture": "让每张画面动起来",
    "Subtitles in the picture": "字幕压入画面",
    "Render when the shots are ready": "镜头就绪后自动合成",
    "Save settings": "保存设置",
    "Music level (dB)": "音乐音量（dB）",
    "Hear it": "试听",
    "Writing the storyboard.": "正在编写分镜。",
    "%(count)s picture, clip or voice task(s) to go.": "还有 %(count)s 个画面、片段或配音任务。",
    "Composing the film.": "正在合成影片。",
    "Every shot is ready: render the film.": "所有镜头都已就绪：请合成影片。",
    "The film is out of date: its last render failed (%(why)s). Render again.": "影片不是最新的：上次合成失败（%(why)s）。请重新合成。",
    "The storyboard failed: %(why)s": "分镜生成失败：%(why)s",
    "Shot %(shot)s's %(stage)s failed: %(why)s. Regenerate it or edit the shot.": "镜头 %(shot)s 的%(stage)s失败：%(why)s。请重新生成或修改该镜头。",
    "Music": "音乐",
    "Upload": "上传",
    "Remove music": "移除音乐",
    "To reorder, drag a card by its handle (⠿), or focus a card and press Alt+↑ or Alt+↓.": "调整顺序：按住卡片的把手（⠿）拖动，或选中卡片后按 Alt+↑ 或 Alt+↓。",
    "Add a shot at the end": "在末尾添加镜头",
    "Characters": "角色",
    "Name": "名字",
    "Appearance": "外貌",
    "Add character": "添加角色",
    "Drag to reorder": "拖动以调整顺序",
    "Picture": "画面",
    "Narration": "旁白",
    "Camera": "镜头运动",
    "Then": "转场",
    "More": "更多",
    "Keep out of the picture": "画面中不要出现",
    "Seconds (empty: as long as the voice)": "秒数（留空：与配音等长）",
    "Seed": "随机种子",
    "Characters in this shot": "本镜头中的角色",
    "Save": "保存",
    "New picture": "重画画面",
    "New voice": "重新配音",
    "Animate": "动起来",
    "Listen": "试听",
    "Use my picture": "用我的图片",
    "Use my recording": "用我的录音",
    "your picture": "你的图片",
    "your recording": "你的录音",
    "Yours: %(what)s": "你自己的：%(what)s",
    "History": "历史版本",
    "The picture prompt is not in English, and the image model reads English: write it in English, or have the model rewrite it.": "画面提示词不是英文，而图像模型读的是英文：请用英文写，或让模型改写。",
    "Rewrite with the model": "让模型改写",
    "e.g. make it night, closer on the cat": "例如：改成夜晚，镜头更靠近猫",
    "Narration too": "也改写旁白",
    "Rewrite": "改写",
    "How to rewrite shot %(n)s": "如何改写镜头 %(n)s",
    "Rewriting… %(progress)s%": "正在改写…… %(progress)s%",
    "no change": "没有改动",
    "The narrator's": "旁白的声音",
    "Subtitles name who speaks": "字幕标出说话人",
    "Spoken by": "说话人",
    "The narrator": "旁白",
    "Who speaks shot %(n)s": "镜头 %(n)s 的说话人",
    "voice %(voice)s": "声音 %(voice)s",
    "the narrator's voice": "旁白的声音",
    "Nothing made yet.": "还没有生成任何内容。",
    "Picture %(n)s": "画面 %(n)s",
    "Narration %(n)s": "旁白 %(n)s",
    "Clip %(n)s": "片段 %(n)s",
    "your file": "你的文件",
    "restored from %(n)s": "恢复自 %(n)s",
    "In use": "使用中",
    "Restore": "恢复",
    "Restore %(name)s": "恢复%(name)s",
    "This is your own file. Replace it with a generated one?": "这是你自己的文件。要用生成的替换它吗？",
    "Add after": "在后面添加",
    "Delete": "删除",
    "Your films": "我的影片",
    "New film": "新建影片",
    "working": "进行中",
    "Duplicate %(title)s": "复制 %(title)s",
    "Duplicate": "复制",
    "Delete %(title)s": "删除 %(title)s",
    "No films yet.": "还没有影片。",
    "Start one from a story.": "从一个故事开始。",
    "Make the storyboard": "生成分镜",
    "preview": "预览",
    "Back to the editor": "返回编辑器",
    "A timeline on its own (OpenTimelineIO, FCP XML, EDL) links to its shots, voices and music on this server for at least %(hours)s hours; the bundle holds the files themselves, for an editor offline.": "单独下载的时间线（OpenTimelineIO、FCP XML、EDL）链接到本服务器上的镜头、配音和音乐，链接至少 %(hours)s 小时内有效；打包下载则包含这些文件本身，可离线剪辑。",
    "No film yet: render it from the editor.": "还没有影片：请在编辑器中合成。",
    "Username": "用户名",
    "Password": "密码",
    # the editor's script
    "picture": "画面",
    "voice": "配音",
    "clip": "动态片段",
    "Press “New picture”, or change the picture text and save.": "请点“重画画面”，或修改画面描述后保存。",
    "Press “New voice”, or change the narration and save.": "请点“重新配音”，或修改旁白后保存。",
    "Press “Animate” to try again.": "请点“动起来”再试一次。",
    "waiting": "等待中",
    "%(stage)s failed": "%(stage)s失败",
    "ready": "就绪",
    "The %(stage)s failed: %(why)s. %(remedy)s": "%(stage)s失败：%(why)s。%(remedy)s",
    "Picture of shot %(n)s": "镜头 %(n)s 的画面",
    "Narration of shot %(n)s": "镜头 %(n)s 的旁白",
    "Camera of shot %(n)s": "镜头 %(n)s 的镜头运动",
    "Transition after shot %(n)s": "镜头 %(n)s 之后的转场",
    "What to keep out of shot %(n)s": "镜头 %(n)s 中不要出现的内容",
    "Seconds of shot %(n)s": "镜头 %(n)s 的秒数",
    "Seed of shot %(n)s": "镜头 %(n)s 的随机种子",
    "Save shot %(n)s": "保存镜头 %(n)s",
    "New picture for shot %(n)s": "重画镜头 %(n)s",
    "New voice for shot %(n)s": "为镜头 %(n)s 重新配音",
    "Animate shot %(n)s": "让镜头 %(n)s 动起来",
    "Listen to shot %(n)s": "试听镜头 %(n)s",
    "Move shot %(n)s up": "镜头 %(n)s 上移",
    "Move shot %(n)s down": "镜头 %(n)s 下移",
    "Add a shot after shot %(n)s": "在镜头 %(n)s 后添加镜头",
    "Delete shot %(n)s": "删除镜头 %(n)s",
    "Shot %(n)s": "镜头 %(n)s",
    "Storyboard: %(what)s": "分镜：%(what)s",
    "%(done)s of %(all)s steps": "已完成 %(done)s / %(all)s 步",
    "Composing the film": "正在合成影片",
    " · about %(n)s s left": " · 约剩 %(n)s 秒",
    " · about %(n)s min left": " · 约剩 %(n)s 分钟",
    ": %(runs)s instead of %(spec)s — %(why)s": "：用 %(runs)s 代替 %(spec)s —— %(why)s",
    "in shots %(numbers)s": "出现在镜头 %(numbers)s",
    "in no shot yet": "尚未出现在任何镜头",
    "seed %(seed)s": "种子 %(seed)s",
    "Edit": "编辑",
    "Edit %(name)s": "编辑 %(name)s",
    "Delete %(name)s": "删除 %(name)s",
    "Delete %(name)s? Shots with them are drawn again without them.": "删除 %(name)s？有该角色的镜头会不带该角色重新绘制。",
    "Save %(name)s": "保存 %(name)s",
    "Live updates paused; checking every few seconds.": "实时更新已暂停；每隔几秒检查一次。",
    "Delete this shot?": "删除这个镜头？",
    "Render anyway?": "仍然合成？",
    "Now: %(music)s": "当前：%(music)s",
    "No music": "没有音乐",
    "Choose an audio file first.": "请先选择一个音频文件。",
    "No inference worker (storyboard, pictures, voices) is running": "没有推理工作进程（分镜、画面、配音）在运行",
    "No media worker (the film) is running": "没有媒体工作进程（合成影片）在运行",
    "its work waits until one starts (make run starts them; or python manage.py worker %(queue)s).": "相关任务会一直等到有进程启动（make run 会启动它们；或运行 python manage.py worker %(queue)s）。",
    "Delete “%(title)s” with its shots and film? This cannot be undone.": "删除“%(title)s”及其镜头和影片？此操作无法撤销。",
    "%(length)s of %(limit)s characters": "%(length)s / %(limit)s 个字符",
    "%(length)s of %(limit)s characters: %(over)s too many. Shorten the story or make two films of it.": "%(length)s / %(limit)s 个字符：多了 %(over)s 个。请删减故事，或分成两部影片。",
}

# Every entry, whatever its msgstr: the table is the translation, so a guess that msgmerge made
# from a similar sentence (a "fuzzy" entry) is replaced, never kept.
ENTRY = re.compile(r'(msgid ((?:"(?:[^"\\]|\\.)*"\n)+))msgstr (?:"(?:[^"\\]|\\.)*"\n)+', re.MULTILINE)
PREVIOUS = re.compile(r"^#\| .*\n", re.MULTILINE)  # msgmerge's note of the sentence it guessed from


def unquote(block: str) -> str:
    return "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', block)).replace('\\"', '"').replace("\\n", "\n")


def fill(path: Path) -> list[str]:
    missing: list[str] = []

    def replace(match: re.Match[str]) -> str:
        msgid = unquote(match.group(2))
        if not msgid:
            return match.group(0)
        if msgid not in ZH:
            missing.append(msgid)
            return match.group(0)
        return match.group(1) + 'msgstr "' + ZH[msgid].replace('"', '\\"') + '"\n'

    text = PREVIOUS.sub("", path.read_text(encoding="utf-8"))
    path.write_text(ENTRY.sub(replace, text), encoding="utf-8")
    return missing


if __name__ == "__main__":
    folder = Path(__file__).parent / "zh_Hans" / "LC_MESSAGES"
    left = [m for name in ("django.po", "djangojs.po") for m in fill(folder / name)]
    if left:
        sys.exit("No Chinese for: " + " | ".join(left))
